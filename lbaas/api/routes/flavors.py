"""/v2/lbaas/providers, /flavors and /flavorprofiles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.responses import JSONBody, no_content, ok
from lbaas.core.errors import Conflict, InvalidInput, NotFound
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.admin import (
    FlavorCreateEnvelope,
    FlavorEnvelope,
    FlavorList,
    FlavorProfileCreateEnvelope,
    FlavorProfileEnvelope,
    FlavorProfileList,
    FlavorProfileUpdateEnvelope,
    FlavorUpdateEnvelope,
    ProviderList,
)

router = APIRouter(tags=["flavors"])

CAPABILITIES = [{"name": "loadbalancer_topology",
                 "description": "The load balancer topology: SINGLE or ACTIVE_STANDBY."}]


def flavor_view(f: models.Flavor) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "description": f.description, "enabled": f.enabled,
            "flavor_profile_id": f.flavor_profile_id}


def profile_view(p: models.FlavorProfile) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "provider_name": p.provider_name,
            "flavor_data": p.flavor_data}


@router.get("/providers", response_model=ProviderList)
def list_providers(services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "provider", "get_all")
    return ok({"providers": [{"name": d.name, "description": d.description}
                             for d in services.providers.all()]})


@router.get("/providers/{provider}/flavor_capabilities")
def provider_flavor_capabilities(provider: str, services: ServicesDep,
                                 ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "provider-flavor", "get_all")
    if provider not in services.providers.names():
        raise NotFound("Provider", provider)
    return ok({"flavor_capabilities": CAPABILITIES})


@router.get("/providers/{provider}/availability_zone_capabilities")
def provider_az_capabilities(provider: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "provider-flavor", "get_all")
    if provider not in services.providers.names():
        raise NotFound("Provider", provider)
    return ok({"availability_zone_capabilities": []})


@router.get("/flavorprofiles", response_model=FlavorProfileList)
def list_profiles(services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor-profile", "get_all")
    with read_session(services.sessions) as session:
        rows = session.scalars(select(models.FlavorProfile).order_by(models.FlavorProfile.name))
        return ok({"flavorprofiles": [profile_view(p) for p in rows],
                   "flavorprofiles_links": []})


@router.post("/flavorprofiles", status_code=201, response_model=FlavorProfileEnvelope)
def create_profile(body: FlavorProfileCreateEnvelope, services: ServicesDep,
                   ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor-profile", "post")
    data = body.flavorprofile
    if data.provider_name not in services.providers.names():
        raise InvalidInput(f"Provider '{data.provider_name}' is not enabled.")
    with write_session(services.sessions) as session:
        profile = models.FlavorProfile(id=models.new_id(), **data.model_dump())
        session.add(profile)
        session.flush()
        return ok({"flavorprofile": profile_view(profile)}, 201)


def _profile(session: Any, profile_id: str) -> models.FlavorProfile:
    profile = session.get(models.FlavorProfile, profile_id)
    if profile is None:
        raise NotFound("Flavor profile", profile_id)
    return profile


@router.get("/flavorprofiles/{profile_id}", response_model=FlavorProfileEnvelope)
def show_profile(profile_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor-profile", "get_one")
    with read_session(services.sessions) as session:
        return ok({"flavorprofile": profile_view(_profile(session, profile_id))})


@router.put("/flavorprofiles/{profile_id}", status_code=202, response_model=FlavorProfileEnvelope)
def update_profile(profile_id: str, body: FlavorProfileUpdateEnvelope, services: ServicesDep,
                   ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor-profile", "put")
    values = {k: v for k, v in body.flavorprofile.model_dump(exclude_unset=True).items()
              if v is not None}
    if "provider_name" in values and values["provider_name"] not in services.providers.names():
        raise InvalidInput(f"Provider '{values['provider_name']}' is not enabled.")
    with write_session(services.sessions) as session:
        profile = _profile(session, profile_id)
        for key, value in values.items():
            setattr(profile, key, value)
        return ok({"flavorprofile": profile_view(profile)}, 202)


@router.delete("/flavorprofiles/{profile_id}", status_code=204)
def delete_profile(profile_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "flavor-profile", "delete")
    with write_session(services.sessions) as session:
        profile = _profile(session, profile_id)
        in_use = session.scalars(select(models.Flavor.id)
                                 .where(models.Flavor.flavor_profile_id == profile_id)).first()
        if in_use:
            raise Conflict(f"Flavor profile {profile_id} is in use by flavor {in_use}.")
        session.delete(profile)
    return no_content()


@router.get("/flavors", response_model=FlavorList)
def list_flavors(services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor", "get_all")
    with read_session(services.sessions) as session:
        rows = session.scalars(select(models.Flavor).order_by(models.Flavor.name))
        return ok({"flavors": [flavor_view(f) for f in rows], "flavors_links": []})


@router.post("/flavors", status_code=201, response_model=FlavorEnvelope)
def create_flavor(body: FlavorCreateEnvelope, services: ServicesDep,
                  ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor", "post")
    with write_session(services.sessions) as session:
        if session.get(models.FlavorProfile, body.flavor.flavor_profile_id) is None:
            raise InvalidInput(f"Flavor profile {body.flavor.flavor_profile_id} could not be "
                               "found.")
        if session.scalars(select(models.Flavor)
                           .where(models.Flavor.name == body.flavor.name)).first():
            raise Conflict(f"A flavor named '{body.flavor.name}' already exists.")
        flavor = models.Flavor(id=models.new_id(), **body.flavor.model_dump())
        session.add(flavor)
        session.flush()
        return ok({"flavor": flavor_view(flavor)}, 201)


def _flavor(session: Any, flavor_id: str) -> models.Flavor:
    flavor = session.get(models.Flavor, flavor_id)
    if flavor is None:
        raise NotFound("Flavor", flavor_id)
    return flavor


@router.get("/flavors/{flavor_id}", response_model=FlavorEnvelope)
def show_flavor(flavor_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor", "get_one")
    with read_session(services.sessions) as session:
        return ok({"flavor": flavor_view(_flavor(session, flavor_id))})


@router.put("/flavors/{flavor_id}", status_code=202, response_model=FlavorEnvelope)
def update_flavor(flavor_id: str, body: FlavorUpdateEnvelope, services: ServicesDep,
                  ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "flavor", "put")
    with write_session(services.sessions) as session:
        flavor = _flavor(session, flavor_id)
        new_name = body.flavor.name
        if new_name is not None and new_name != flavor.name and session.scalars(
                select(models.Flavor).where(models.Flavor.name == new_name)).first():
            raise Conflict(f"A flavor named '{new_name}' already exists.")
        for key, value in body.flavor.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(flavor, key, value)
        return ok({"flavor": flavor_view(flavor)}, 202)


@router.delete("/flavors/{flavor_id}", status_code=204)
def delete_flavor(flavor_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "flavor", "delete")
    with write_session(services.sessions) as session:
        flavor = _flavor(session, flavor_id)
        in_use = session.scalars(select(models.LoadBalancer.id)
                                 .where(models.LoadBalancer.flavor_id == flavor_id)).first()
        if in_use:
            raise Conflict(f"Flavor {flavor_id} is in use by load balancer {in_use}.")
        session.delete(flavor)
    return no_content()
