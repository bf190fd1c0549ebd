"""/v2/lbaas/listeners: CRUD and statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.kinds import LISTENER
from lbaas.db import models
from lbaas.schemas.common import StatsEnvelope
from lbaas.schemas.listener import (
    ACCESS_LOG,
    ListenerCreateEnvelope,
    ListenerEnvelope,
    ListenerList,
    ListenerPublic,
    ListenerUpdateEnvelope,
)
from lbaas.services import listeners, loadbalancers, reads, views

router = APIRouter(tags=["listeners"])
FIELDS = {field.alias or name for name, field in ListenerPublic.model_fields.items()}
FILTERS = {ACCESS_LOG: "access_log"}  # lbaas's own attribute: its wire name -> its column


@router.get("/listeners", response_model=ListenerList, openapi_extra=LIST_QUERY)
def list_listeners(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LISTENER, "get_all")],
) -> JSONBody:
    return list_page(
        request, services, ctx, models.Listener, "listeners", views.listener_view, FIELDS,
        extra_filters=FILTERS,
    )


@router.post("/listeners", status_code=201, response_model=ListenerEnvelope)
def create_listener(
    body: ListenerCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LISTENER, "post")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = listeners.create(work, services.conf, body.listener)
    return ok({"listener": out}, 201)


@router.get("/listeners/{listener_id}", response_model=ListenerEnvelope)
def show_listener(
    listener_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LISTENER, "get_one")],
) -> JSONBody:
    view = reads.show(services.sessions, models.Listener, listener_id, ctx, views.listener_view)
    return ok({"listener": view})


@router.put("/listeners/{listener_id}", response_model=ListenerEnvelope)
def update_listener(
    listener_id: str,
    body: ListenerUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LISTENER, "put")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = listeners.update(work, listener_id, body.listener)
    return ok({"listener": out})


@router.delete("/listeners/{listener_id}", status_code=204)
def delete_listener(
    listener_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LISTENER, "delete")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        listeners.delete(work, listener_id)
    return no_content()


@router.get("/listeners/{listener_id}/stats", response_model=StatsEnvelope)
def listener_stats(
    listener_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LISTENER, "get_stats")],
) -> JSONBody:
    stats = reads.show(services.sessions, models.Listener, listener_id, ctx, loadbalancers.stats)
    return ok({"stats": stats})
