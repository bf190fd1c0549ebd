"""/v2/lbaas/availabilityzoneprofiles, /availabilityzones and a provider's
availability_zone_capabilities (Octavia API 2.14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.listing import select_fields
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, ListShape, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.kinds import AVAILABILITY_ZONE, AVAILABILITY_ZONE_PROFILE
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.availability_zone import (
    AvailabilityZoneCapabilities,
    AvailabilityZoneCreateEnvelope,
    AvailabilityZoneEnvelope,
    AvailabilityZoneList,
    AvailabilityZoneProfileCreateEnvelope,
    AvailabilityZoneProfileEnvelope,
    AvailabilityZoneProfileList,
    AvailabilityZoneProfilePublic,
    AvailabilityZoneProfileUpdateEnvelope,
    AvailabilityZonePublic,
    AvailabilityZoneUpdateEnvelope,
)
from lbaas.services import availability_zones as zones
from lbaas.services.provider_api import enabled_provider

router = APIRouter(tags=["availability zones"])
PROFILE, ZONE = AVAILABILITY_ZONE_PROFILE, AVAILABILITY_ZONE
PROFILE_LIST = ListShape(scoped=False, default_sort=(("id", "asc"),),
                         links="availability_zone_profile_links")
ZONE_LIST = ListShape(scoped=False, key="name", default_sort=(("name", "asc"),))
"""Neither belongs to a project; profiles are listed by id, zones by name (Octavia's orders)."""


@router.get("/providers/{provider}/availability_zone_capabilities",
            response_model=AvailabilityZoneCapabilities)
def provider_capabilities(
    provider: str,
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("provider-availability-zone", "get_all")],
) -> JSONBody:
    """The keys an availability zone profile of ``provider`` may use, filtered by ``name`` and
    ``description`` and cut to ``fields`` as Octavia does."""
    driver = enabled_provider(services.providers, provider)
    params = request.query_params
    items = [{"name": name, "description": text}
             for name, text in driver.availability_zone_capabilities().items()
             if params.get("name", name) == name and params.get("description", text) == text]
    fields = [f for raw in params.getlist("fields") for f in raw.split(",") if f]
    return ok({"availability_zone_capabilities": select_fields(items, fields)})


@router.get("/availabilityzoneprofiles", response_model=AvailabilityZoneProfileList,
            openapi_extra=LIST_QUERY)
def list_profiles(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(PROFILE, "get_all")],
) -> JSONBody:
    return list_page(request, services, ctx, models.AvailabilityZoneProfile, PROFILE.collection,
                     zones.profile_view, set(AvailabilityZoneProfilePublic.model_fields),
                     shape=PROFILE_LIST)


@router.post("/availabilityzoneprofiles", status_code=201,
             response_model=AvailabilityZoneProfileEnvelope)
def create_profile(
    body: AvailabilityZoneProfileCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(PROFILE, "post")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = zones.create_profile(session, services.providers, body.availability_zone_profile)
    return ok({PROFILE.key: out}, 201)


@router.get("/availabilityzoneprofiles/{az_profile_id}",
            response_model=AvailabilityZoneProfileEnvelope)
def show_profile(
    az_profile_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(PROFILE, "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = zones.show_profile(session, az_profile_id)
    return ok({PROFILE.key: out})


@router.put("/availabilityzoneprofiles/{az_profile_id}",
            response_model=AvailabilityZoneProfileEnvelope)
def update_profile(
    az_profile_id: str,
    body: AvailabilityZoneProfileUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(PROFILE, "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = zones.update_profile(session, services.providers, az_profile_id,
                                   body.availability_zone_profile)
    return ok({PROFILE.key: out})


@router.delete("/availabilityzoneprofiles/{az_profile_id}", status_code=204)
def delete_profile(
    az_profile_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(PROFILE, "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        zones.delete_profile(session, az_profile_id)
    return no_content()


@router.get("/availabilityzones", response_model=AvailabilityZoneList,
            openapi_extra=LIST_QUERY)
def list_zones(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(ZONE, "get_all")],
) -> JSONBody:
    return list_page(request, services, ctx, models.AvailabilityZone, ZONE.collection,
                     zones.zone_view, set(AvailabilityZonePublic.model_fields), shape=ZONE_LIST)


@router.post("/availabilityzones", status_code=201, response_model=AvailabilityZoneEnvelope)
def create_zone(
    body: AvailabilityZoneCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(ZONE, "post")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = zones.create_zone(session, body.availability_zone)
    return ok({ZONE.key: out}, 201)


@router.get("/availabilityzones/{az_name}", response_model=AvailabilityZoneEnvelope)
def show_zone(
    az_name: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(ZONE, "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = zones.show_zone(session, az_name)
    return ok({ZONE.key: out})


@router.put("/availabilityzones/{az_name}", response_model=AvailabilityZoneEnvelope)
def update_zone(
    az_name: str,
    body: AvailabilityZoneUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(ZONE, "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = zones.update_zone(session, az_name, body.availability_zone)
    return ok({ZONE.key: out})


@router.delete("/availabilityzones/{az_name}", status_code=204)
def delete_zone(
    az_name: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(ZONE, "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        zones.delete_zone(session, az_name)
    return no_content()
