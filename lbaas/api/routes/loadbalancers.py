"""/v2/lbaas/loadbalancers: CRUD, status tree, statistics, failover, cascade delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, accepted, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.kinds import LOADBALANCER
from lbaas.db import models
from lbaas.schemas.common import StatsEnvelope
from lbaas.schemas.loadbalancer import (
    LoadBalancerCreateEnvelope,
    LoadBalancerEnvelope,
    LoadBalancerList,
    LoadBalancerPublic,
    LoadBalancerUpdateEnvelope,
    StatusTree,
)
from lbaas.services import loadbalancers, reads, views

router = APIRouter(tags=["loadbalancers"])
FIELDS = set(LoadBalancerPublic.model_fields)


@router.get("/loadbalancers", response_model=LoadBalancerList, openapi_extra=LIST_QUERY)
def list_loadbalancers(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "get_all")],
) -> JSONBody:
    return list_page(
        request,
        services,
        ctx,
        models.LoadBalancer,
        "loadbalancers",
        None,
        FIELDS,
        bulk_view=views.loadbalancer_views,
    )


@router.post("/loadbalancers", status_code=201, response_model=LoadBalancerEnvelope)
def create_loadbalancer(
    body: LoadBalancerCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "post")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        lb = loadbalancers.create(work, services.conf, services.providers, body.loadbalancer)
    return ok({"loadbalancer": lb}, 201)


@router.get("/loadbalancers/{lb_id}", response_model=LoadBalancerEnvelope)
async def show_loadbalancer(
    lb_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "get_one")],
) -> JSONBody:
    """Runs on the event loop, not the thread pool: one primary-key read that never waits on
    a lock (WAL reader on SQLite, autocommit on PostgreSQL), cheaper than the hand-off."""
    return ok({"loadbalancer": reads.show_loadbalancer(services.sessions, lb_id, ctx)})


@router.put("/loadbalancers/{lb_id}", response_model=LoadBalancerEnvelope)
def update_loadbalancer(
    lb_id: str,
    body: LoadBalancerUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "put")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        lb = loadbalancers.update(work, lb_id, body.loadbalancer)
    return ok({"loadbalancer": lb})


@router.delete("/loadbalancers/{lb_id}", status_code=204)
def delete_loadbalancer(
    lb_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "delete")],
    cascade: Annotated[bool, Query()] = False,
) -> Response:
    with services.unit_of_work(ctx) as work:
        loadbalancers.delete(work, lb_id, cascade)
    return no_content()


@router.get("/loadbalancers/{lb_id}/status", response_model=StatusTree)
@router.get("/loadbalancers/{lb_id}/statuses", response_model=StatusTree, include_in_schema=False)
def loadbalancer_status(
    lb_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "get_status")],
) -> JSONBody:
    return ok(reads.show(services.sessions, models.LoadBalancer, lb_id, ctx, views.status_tree))


@router.get("/loadbalancers/{lb_id}/stats", response_model=StatsEnvelope)
def loadbalancer_stats(
    lb_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "get_stats")],
) -> JSONBody:
    stats = reads.show(services.sessions, models.LoadBalancer, lb_id, ctx, loadbalancers.stats)
    return ok({"stats": stats})


@router.put("/loadbalancers/{lb_id}/failover", status_code=202, response_class=Response)
def failover_loadbalancer(
    lb_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(LOADBALANCER, "put_failover")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        loadbalancers.failover(work, lb_id)
    return accepted()
