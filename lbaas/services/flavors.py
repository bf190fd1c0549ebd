"""Flavors and flavor profiles: show, create, update, delete, and their wire views.

Called by the ``/v2/lbaas/flavors`` and ``/v2/lbaas/flavorprofiles`` routes inside the session
they open; each function returns the response body's object. Their lists are pages like every
other collection's (``list_page`` in ``lbaas/api/responses.py``, with these views).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lbaas.core.errors import Conflict, InvalidInput, NotFound
from lbaas.db import models
from lbaas.schemas.admin import (
    FlavorCreate,
    FlavorProfileCreate,
    FlavorProfileUpdate,
    FlavorUpdate,
)
from lbaas.services.provider_api import Providers, enabled_provider


def flavor_view(f: models.Flavor) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "description": f.description, "enabled": f.enabled,
            "flavor_profile_id": f.flavor_profile_id}


def profile_view(p: models.FlavorProfile) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "provider_name": p.provider_name,
            "flavor_data": p.flavor_data}


def check_provider(providers: Providers, name: str) -> None:
    """400, as Octavia answers, when ``name`` is not an enabled provider."""
    enabled_provider(providers, name)


def _profile(session: Session, profile_id: str) -> models.FlavorProfile:
    profile = session.get(models.FlavorProfile, profile_id)
    if profile is None:
        raise NotFound("Flavor profile", profile_id)
    return profile


def _flavor(session: Session, flavor_id: str) -> models.Flavor:
    flavor = session.get(models.Flavor, flavor_id)
    if flavor is None:
        raise NotFound("Flavor", flavor_id)
    return flavor


def _name_taken(session: Session, name: str) -> bool:
    return session.scalars(select(models.Flavor).where(models.Flavor.name == name)).first() \
        is not None


def create_profile(session: Session, providers: Providers,
                   data: FlavorProfileCreate) -> dict[str, Any]:
    """A new flavor profile (400 when its provider is not enabled)."""
    check_provider(providers, data.provider_name)
    profile = models.FlavorProfile(id=models.new_id(), **data.model_dump())
    session.add(profile)
    session.flush()
    return profile_view(profile)


def show_profile(session: Session, profile_id: str) -> dict[str, Any]:
    return profile_view(_profile(session, profile_id))


def update_profile(session: Session, providers: Providers, profile_id: str,
                   data: FlavorProfileUpdate) -> dict[str, Any]:
    """Set the given (non-null) fields; 400 for a provider that is not enabled, else 404."""
    values = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "provider_name" in values:
        check_provider(providers, values["provider_name"])
    profile = _profile(session, profile_id)
    for key, value in values.items():
        setattr(profile, key, value)
    return profile_view(profile)


def delete_profile(session: Session, profile_id: str) -> None:
    """Delete a flavor profile no flavor uses (409 when one does)."""
    profile = _profile(session, profile_id)
    in_use = session.scalars(select(models.Flavor.id)
                             .where(models.Flavor.flavor_profile_id == profile_id)).first()
    if in_use:
        raise Conflict(f"Flavor profile {profile_id} is in use by flavor {in_use}.")
    session.delete(profile)


def create_flavor(session: Session, data: FlavorCreate) -> dict[str, Any]:
    """A new flavor: 400 when its profile does not exist, 409 when its name is taken."""
    if session.get(models.FlavorProfile, data.flavor_profile_id) is None:
        raise InvalidInput(f"Flavor profile {data.flavor_profile_id} could not be found.")
    if _name_taken(session, data.name):
        raise Conflict(f"A flavor named '{data.name}' already exists.")
    flavor = models.Flavor(id=models.new_id(), **data.model_dump())
    session.add(flavor)
    session.flush()
    return flavor_view(flavor)


def show_flavor(session: Session, flavor_id: str) -> dict[str, Any]:
    return flavor_view(_flavor(session, flavor_id))


def update_flavor(session: Session, flavor_id: str, data: FlavorUpdate) -> dict[str, Any]:
    """Set the given (non-null) fields; 409 when the new name is another flavor's."""
    flavor = _flavor(session, flavor_id)
    new_name = data.name
    if new_name is not None and new_name != flavor.name and _name_taken(session, new_name):
        raise Conflict(f"A flavor named '{new_name}' already exists.")
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(flavor, key, value)
    return flavor_view(flavor)


def delete_flavor(session: Session, flavor_id: str) -> None:
    """Delete a flavor no load balancer uses (409 when one does)."""
    flavor = _flavor(session, flavor_id)
    in_use = session.scalars(select(models.LoadBalancer.id)
                             .where(models.LoadBalancer.flavor_id == flavor_id)).first()
    if in_use:
        raise Conflict(f"Flavor {flavor_id} is in use by load balancer {in_use}.")
    session.delete(flavor)
