"""/v2/lbaas/healthmonitors: CRUD."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.kinds import HEALTH_MONITOR
from lbaas.db import models
from lbaas.schemas.healthmonitor import (
    HealthMonitorCreateEnvelope,
    HealthMonitorEnvelope,
    HealthMonitorList,
    HealthMonitorPublic,
    HealthMonitorUpdateEnvelope,
)
from lbaas.services import healthmonitors, reads, views

router = APIRouter(tags=["healthmonitors"])
FIELDS = set(HealthMonitorPublic.model_fields)


@router.get("/healthmonitors", response_model=HealthMonitorList, openapi_extra=LIST_QUERY)
def list_healthmonitors(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(HEALTH_MONITOR, "get_all")],
) -> JSONBody:
    return list_page(
        request,
        services,
        ctx,
        models.HealthMonitor,
        "healthmonitors",
        views.healthmonitor_view,
        FIELDS,
        extra_filters={"pool_id": "pool_id"},
    )


@router.post("/healthmonitors", status_code=201, response_model=HealthMonitorEnvelope)
def create_healthmonitor(
    body: HealthMonitorCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(HEALTH_MONITOR, "post")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = healthmonitors.create(work, services.conf, body.healthmonitor)
    return ok({"healthmonitor": out}, 201)


@router.get("/healthmonitors/{hm_id}", response_model=HealthMonitorEnvelope)
def show_healthmonitor(
    hm_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(HEALTH_MONITOR, "get_one")],
) -> JSONBody:
    view = reads.show(services.sessions, models.HealthMonitor, hm_id, ctx, views.healthmonitor_view)
    return ok({"healthmonitor": view})


@router.put("/healthmonitors/{hm_id}", response_model=HealthMonitorEnvelope)
def update_healthmonitor(
    hm_id: str,
    body: HealthMonitorUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(HEALTH_MONITOR, "put")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = healthmonitors.update(work, hm_id, body.healthmonitor)
    return ok({"healthmonitor": out})


@router.delete("/healthmonitors/{hm_id}", status_code=204)
def delete_healthmonitor(
    hm_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(HEALTH_MONITOR, "delete")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        healthmonitors.delete(work, hm_id)
    return no_content()
