"""/v2/lbaas/healthmonitors: CRUD."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, list_page, no_content, ok
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.schemas.healthmonitor import (
    HealthMonitorCreateEnvelope,
    HealthMonitorEnvelope,
    HealthMonitorList,
    HealthMonitorPublic,
    HealthMonitorUpdateEnvelope,
)
from lbaas.services import healthmonitors, views
from lbaas.services.state import get_scoped
from lbaas.services.work import unit_of_work

router = APIRouter(tags=["healthmonitors"])
FIELDS = set(HealthMonitorPublic.model_fields)


@router.get("/healthmonitors", response_model=HealthMonitorList, openapi_extra=LIST_QUERY)
def list_healthmonitors(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "healthmonitor", "get_all")
    return list_page(request, services, ctx, models.HealthMonitor, "healthmonitors",
                     views.healthmonitor_view, FIELDS, extra_filters={"pool_id": "pool_id"})


@router.post("/healthmonitors", status_code=201, response_model=HealthMonitorEnvelope)
def create_healthmonitor(body: HealthMonitorCreateEnvelope, services: ServicesDep,
                         ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "healthmonitor", "post")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = healthmonitors.create(work, services.conf, body.healthmonitor)
    return ok({"healthmonitor": out}, 201)


@router.get("/healthmonitors/{hm_id}", response_model=HealthMonitorEnvelope)
def show_healthmonitor(hm_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "healthmonitor", "get_one")
    with read_session(services.sessions) as session:
        obj = get_scoped(session, models.HealthMonitor, hm_id, ctx.scope_project(),
                         "Health Monitor")
        return ok({"healthmonitor": views.healthmonitor_view(obj)})


@router.put("/healthmonitors/{hm_id}", status_code=202, response_model=HealthMonitorEnvelope)
def update_healthmonitor(hm_id: str, body: HealthMonitorUpdateEnvelope, services: ServicesDep,
                         ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "healthmonitor", "put")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = healthmonitors.update(work, hm_id, body.healthmonitor)
    return ok({"healthmonitor": out}, 202)


@router.delete("/healthmonitors/{hm_id}", status_code=204)
def delete_healthmonitor(hm_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "healthmonitor", "delete")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        healthmonitors.delete(work, hm_id)
    return no_content()
