"""/v2/lbaas/providers, /flavors and /flavorprofiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.responses import JSONBody, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.errors import NotFound
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
from lbaas.services import flavors

router = APIRouter(tags=["flavors"])

CAPABILITIES = [
    {
        "name": "loadbalancer_topology",
        "description": "The load balancer topology: SINGLE or ACTIVE_STANDBY.",
    }
]


@router.get("/providers", response_model=ProviderList)
def list_providers(
    services: ServicesDep, ctx: Annotated[RequestContext, Authorized("provider", "get_all")]
) -> JSONBody:
    return ok(
        {
            "providers": [
                {"name": d.name, "description": d.description} for d in services.providers.all()
            ]
        }
    )


@router.get("/providers/{provider}/flavor_capabilities")
def provider_flavor_capabilities(
    provider: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("provider-flavor", "get_all")],
) -> JSONBody:
    if provider not in services.providers.names():
        raise NotFound("Provider", provider)
    return ok({"flavor_capabilities": CAPABILITIES})


@router.get("/flavorprofiles", response_model=FlavorProfileList)
def list_profiles(
    services: ServicesDep, ctx: Annotated[RequestContext, Authorized("flavor-profile", "get_all")]
) -> JSONBody:
    with read_session(services.sessions) as session:
        items = flavors.list_profiles(session)
    return ok({"flavorprofiles": items, "flavorprofiles_links": []})


@router.post("/flavorprofiles", status_code=201, response_model=FlavorProfileEnvelope)
def create_profile(
    body: FlavorProfileCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor-profile", "post")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = flavors.create_profile(session, services.providers, body.flavorprofile)
    return ok({"flavorprofile": out}, 201)


@router.get("/flavorprofiles/{profile_id}", response_model=FlavorProfileEnvelope)
def show_profile(
    profile_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor-profile", "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = flavors.show_profile(session, profile_id)
    return ok({"flavorprofile": out})


@router.put("/flavorprofiles/{profile_id}", status_code=202, response_model=FlavorProfileEnvelope)
def update_profile(
    profile_id: str,
    body: FlavorProfileUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor-profile", "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = flavors.update_profile(session, services.providers, profile_id, body.flavorprofile)
    return ok({"flavorprofile": out}, 202)


@router.delete("/flavorprofiles/{profile_id}", status_code=204)
def delete_profile(
    profile_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor-profile", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        flavors.delete_profile(session, profile_id)
    return no_content()


@router.get("/flavors", response_model=FlavorList)
def list_flavors(
    services: ServicesDep, ctx: Annotated[RequestContext, Authorized("flavor", "get_all")]
) -> JSONBody:
    with read_session(services.sessions) as session:
        items = flavors.list_flavors(session)
    return ok({"flavors": items, "flavors_links": []})


@router.post("/flavors", status_code=201, response_model=FlavorEnvelope)
def create_flavor(
    body: FlavorCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor", "post")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = flavors.create_flavor(session, body.flavor)
    return ok({"flavor": out}, 201)


@router.get("/flavors/{flavor_id}", response_model=FlavorEnvelope)
def show_flavor(
    flavor_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor", "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = flavors.show_flavor(session, flavor_id)
    return ok({"flavor": out})


@router.put("/flavors/{flavor_id}", status_code=202, response_model=FlavorEnvelope)
def update_flavor(
    flavor_id: str,
    body: FlavorUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor", "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = flavors.update_flavor(session, flavor_id, body.flavor)
    return ok({"flavor": out}, 202)


@router.delete("/flavors/{flavor_id}", status_code=204)
def delete_flavor(
    flavor_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        flavors.delete_flavor(session, flavor_id)
    return no_content()
