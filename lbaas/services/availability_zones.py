"""Availability zones and their profiles: the operator's catalog, and what a zone means when a
load balancer is created in it.

A profile says, for one provider, what a zone is (``availability_zone_data``: JSON text whose
keys are the provider's availability zone capabilities); a zone names a profile and may be
disabled. The ``/v2/lbaas/availabilityzones`` and ``/availabilityzoneprofiles`` routes call the
create, show, update and delete functions inside the session they open (lists go through the
generic list query). A load balancer create calls :func:`zone_data` and
:func:`check_vip_network`; scheduling reads :func:`agents_zone`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from lbaas.core.errors import Conflict, InvalidInput, NotFound, NotImplementedByProvider
from lbaas.core.kinds import AVAILABILITY_ZONE, AVAILABILITY_ZONE_PROFILE
from lbaas.db import models
from lbaas.schemas.availability_zone import (
    AvailabilityZoneCreate,
    AvailabilityZoneProfileCreate,
    AvailabilityZoneProfilePublic,
    AvailabilityZoneProfileUpdate,
    AvailabilityZonePublic,
    AvailabilityZoneUpdate,
)
from lbaas.services.provider_api import Provider, Providers, enabled_provider

AGENTS_ZONE = "agents_zone"
"""Zone data key: the ``[agent] availability_zone`` of the agents that may host the zone's load
balancers (haproxy provider)."""
VALID_VIP_NETWORKS = "valid_vip_networks"
"""Zone data key: the only networks a VIP in the zone may be on (every provider, as Octavia)."""
DATA = "availability_zone_data"


def _view(public: type[BaseModel], obj: Any) -> dict[str, Any]:
    """The fields of ``public``, in its order, copied from the row."""
    return {name: getattr(obj, name) for name in public.model_fields}


def profile_view(profile: models.AvailabilityZoneProfile) -> dict[str, Any]:
    return _view(AvailabilityZoneProfilePublic, profile)


def zone_view(zone: models.AvailabilityZone) -> dict[str, Any]:
    return _view(AvailabilityZonePublic, zone)


def in_use(kind_label: str, key: str) -> Conflict:
    """Octavia's answer to changing or deleting an object something still uses."""
    return Conflict(f"{kind_label} {key} is in use and cannot be modified.")


def _parsed(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(f"{raw} is not a valid option for {DATA}") from None


def _check_data(provider: Provider, raw: str) -> dict[str, Any]:
    """``raw`` parsed, when ``provider`` accepts it (501 with its reason otherwise, as Octavia
    answers a provider's unsupported option)."""
    data = _parsed(raw)
    refusal = provider.availability_zone_refusal(data)
    if refusal is not None:
        raise NotImplementedByProvider(
            f"Provider '{provider.name}' does not support a requested option: {refusal}")
    return dict(data)


def _profile(session: Session, profile_id: str, lock: bool = False
             ) -> models.AvailabilityZoneProfile:
    stmt = select(models.AvailabilityZoneProfile).where(
        models.AvailabilityZoneProfile.id == profile_id)
    profile = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if profile is None:
        raise NotFound(AVAILABILITY_ZONE_PROFILE.label, profile_id)
    return profile


def _zone(session: Session, name: str, lock: bool = False) -> models.AvailabilityZone:
    stmt = select(models.AvailabilityZone).where(models.AvailabilityZone.name == name)
    zone = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if zone is None:
        raise NotFound(AVAILABILITY_ZONE.label, name)
    return zone


def _zone_using(session: Session, profile_id: str) -> str | None:
    return session.scalars(select(models.AvailabilityZone.name).where(
        models.AvailabilityZone.availability_zone_profile_id == profile_id).limit(1)).first()


def _refuse_nulls(data: BaseModel, fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in data.model_fields_set and getattr(data, name) is None:
            raise InvalidInput(f"None is not a valid option for {name}")


def create_profile(session: Session, providers: Providers,
                   data: AvailabilityZoneProfileCreate) -> dict[str, Any]:
    """A new profile: 400 for a provider that is not enabled or data that is not JSON, 501 for
    data the provider does not accept."""
    _check_data(enabled_provider(providers, data.provider_name), data.availability_zone_data)
    profile = models.AvailabilityZoneProfile(id=models.new_id(), **data.model_dump())
    session.add(profile)
    session.flush()
    return profile_view(profile)


def show_profile(session: Session, profile_id: str) -> dict[str, Any]:
    return profile_view(_profile(session, profile_id))


def update_profile(session: Session, providers: Providers, profile_id: str,
                   data: AvailabilityZoneProfileUpdate) -> dict[str, Any]:
    """Set the given fields. The provider and the data of a profile a zone uses are fixed
    (409); the data must suit the (new) provider."""
    _refuse_nulls(data, ("name", "provider_name", DATA))
    profile = _profile(session, profile_id, lock=True)
    values = data.model_dump(exclude_unset=True)
    if {"provider_name", DATA} & set(values):
        if _zone_using(session, profile_id) is not None:
            raise in_use(AVAILABILITY_ZONE_PROFILE.label, profile_id)
        provider = enabled_provider(providers, values.get("provider_name", profile.provider_name))
        _check_data(provider, values.get(DATA, profile.availability_zone_data))
    for key, value in values.items():
        setattr(profile, key, value)
    session.flush()
    return profile_view(profile)


def delete_profile(session: Session, profile_id: str) -> None:
    """Delete a profile no zone uses (409 when one does)."""
    profile = _profile(session, profile_id, lock=True)
    if _zone_using(session, profile_id) is not None:
        raise in_use(AVAILABILITY_ZONE_PROFILE.label, profile_id)
    session.delete(profile)


def create_zone(session: Session, data: AvailabilityZoneCreate) -> dict[str, Any]:
    """A new zone: 400 when its profile does not exist, 409 when its name is taken."""
    profile = session.scalars(select(models.AvailabilityZoneProfile).where(
        models.AvailabilityZoneProfile.id == data.availability_zone_profile_id)
        .with_for_update(read=True)).first()
    if profile is None:
        raise InvalidInput(f"{AVAILABILITY_ZONE_PROFILE.label} "
                           f"{data.availability_zone_profile_id} could not be found.")
    if session.get(models.AvailabilityZone, data.name) is not None:
        raise Conflict(f"A availability zone of {data.name} already exists.")
    zone = models.AvailabilityZone(**data.model_dump())
    session.add(zone)
    session.flush()
    return zone_view(zone)


def show_zone(session: Session, name: str) -> dict[str, Any]:
    return zone_view(_zone(session, name))


def update_zone(session: Session, name: str, data: AvailabilityZoneUpdate) -> dict[str, Any]:
    """Change the description or enable/disable the zone (a disabled zone takes no new load
    balancers; those in it stay)."""
    _refuse_nulls(data, ("enabled",))
    zone = _zone(session, name, lock=True)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(zone, key, value)
    session.flush()
    return zone_view(zone)


def delete_zone(session: Session, name: str) -> None:
    """Delete a zone no load balancer is in (409 when one is)."""
    zone = _zone(session, name, lock=True)
    used = session.scalars(select(models.LoadBalancer.id).where(
        models.LoadBalancer.availability_zone == name).limit(1)).first()
    if used is not None:
        raise in_use(AVAILABILITY_ZONE.label, name)
    session.delete(zone)


def zone_data(session: Session, provider: Provider, name: str) -> dict[str, Any]:
    """What zone ``name`` means to ``provider``, for a load balancer created in it: 400 when the
    zone is unknown, disabled or another provider's, 501 when the provider no longer accepts its
    data. The zone row stays share-locked until the create commits, so that it cannot be
    deleted under the new load balancer."""
    zone = session.scalars(select(models.AvailabilityZone)
                           .where(models.AvailabilityZone.name == name)
                           .with_for_update(read=True)).first()
    if zone is None:
        raise InvalidInput("Validation failure: Invalid availability zone.")
    if not zone.enabled:
        raise InvalidInput(
            f"The selected availability_zone is not allowed in this deployment: {name}")
    profile = session.get(models.AvailabilityZoneProfile, zone.availability_zone_profile_id)
    assert profile is not None, "a zone without its profile (foreign key)"
    if profile.provider_name != provider.name:
        raise InvalidInput(f"Availability zone '{name}' is not compatible with provider "
                           f"'{provider.name}'")
    return _check_data(provider, profile.availability_zone_data)


def check_vip_network(data: dict[str, Any], network_id: str | None) -> None:
    """400 (Octavia's words) when the zone lists the VIP networks it allows and the VIP's is not
    one of them."""
    allowed = data.get(VALID_VIP_NETWORKS)
    if allowed and (network_id or "").lower() not in {n.lower() for n in allowed}:
        raise InvalidInput("Validation failure: Supplied VIP network_id is not allowed by the "
                           "configuration of this deployment.")


def agents_zone(session: Session, name: str | None) -> str | None:
    """The agents' zone a load balancer in zone ``name`` must be hosted in (None: any)."""
    if name is None:
        return None
    raw = session.scalars(
        select(models.AvailabilityZoneProfile.availability_zone_data)
        .join(models.AvailabilityZone, models.AvailabilityZone.availability_zone_profile_id
              == models.AvailabilityZoneProfile.id)
        .where(models.AvailabilityZone.name == name)).first()
    if raw is None:
        return None
    value = json.loads(raw).get(AGENTS_ZONE)
    return str(value) if value else None
