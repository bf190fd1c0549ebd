"""/v2/lbaas/providers, /flavors and /flavorprofiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.listing import fixed_list
from lbaas.api.openapi import FIELDS_QUERY, LIST_QUERY
from lbaas.api.responses import CATALOG, JSONBody, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.admin import (
    FlavorCreateEnvelope,
    FlavorEnvelope,
    FlavorList,
    FlavorProfileCreateEnvelope,
    FlavorProfileEnvelope,
    FlavorProfileList,
    FlavorProfilePublic,
    FlavorProfileUpdateEnvelope,
    FlavorPublic,
    FlavorUpdateEnvelope,
    ProviderList,
    ProviderPublic,
)
from lbaas.services import flavors

router = APIRouter(tags=["flavors"])
FLAVOR_FIELDS = set(FlavorPublic.model_fields)
PROFILE_FIELDS = set(FlavorProfilePublic.model_fields)
PROVIDER_FIELDS = set(ProviderPublic.model_fields)

CAPABILITIES = [
    {
        "name": "loadbalancer_topology",
        "description": "The load balancer topology: SINGLE or ACTIVE_STANDBY.",
    }
]


@router.get("/providers", response_model=ProviderList, openapi_extra=FIELDS_QUERY)
def list_providers(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("provider", "get_all")],
) -> JSONBody:
    items = [{"name": d.name, "description": d.description} for d in services.providers.all()]
    return ok({"providers": fixed_list(request.query_params, items, PROVIDER_FIELDS)})


@router.get("/providers/{provider}/flavor_capabilities")
def provider_flavor_capabilities(
    provider: str,
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("provider-flavor", "get_all")],
) -> JSONBody:
    """The flavor metadata keys ``provider`` understands; like Octavia, filtered by ``name``
    and ``description`` when asked, and a 400 for a provider that is not enabled."""
    flavors.check_provider(services.providers, provider)
    items = fixed_list(request.query_params, CAPABILITIES, PROVIDER_FIELDS,
                       filters=("name", "description"))
    return ok({"flavor_capabilities": items})


@router.get("/flavorprofiles", response_model=FlavorProfileList, openapi_extra=LIST_QUERY)
def list_profiles(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor-profile", "get_all")],
) -> JSONBody:
    return list_page(request, services, ctx, models.FlavorProfile, "flavorprofiles",
                     flavors.profile_view, PROFILE_FIELDS, shape=CATALOG)


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


@router.put("/flavorprofiles/{profile_id}", response_model=FlavorProfileEnvelope)
def update_profile(
    profile_id: str,
    body: FlavorProfileUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor-profile", "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = flavors.update_profile(session, services.providers, profile_id, body.flavorprofile)
    return ok({"flavorprofile": out})


@router.delete("/flavorprofiles/{profile_id}", status_code=204)
def delete_profile(
    profile_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor-profile", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        flavors.delete_profile(session, profile_id)
    return no_content()


@router.get("/flavors", response_model=FlavorList, openapi_extra=LIST_QUERY)
def list_flavors(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor", "get_all")],
) -> JSONBody:
    return list_page(request, services, ctx, models.Flavor, "flavors", flavors.flavor_view,
                     FLAVOR_FIELDS, shape=CATALOG)


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


@router.put("/flavors/{flavor_id}", response_model=FlavorEnvelope)
def update_flavor(
    flavor_id: str,
    body: FlavorUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor", "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = flavors.update_flavor(session, flavor_id, body.flavor)
    return ok({"flavor": out})


@router.delete("/flavors/{flavor_id}", status_code=204)
def delete_flavor(
    flavor_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("flavor", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        flavors.delete_flavor(session, flavor_id)
    return no_content()
