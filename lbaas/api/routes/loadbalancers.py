"""/v2/lbaas/loadbalancers: CRUD, status tree, statistics, failover, cascade delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, accepted, list_page, no_content, ok
from lbaas.core.errors import NotFound
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.schemas.common import StatsEnvelope
from lbaas.schemas.loadbalancer import (
    LoadBalancerCreateEnvelope,
    LoadBalancerEnvelope,
    LoadBalancerList,
    LoadBalancerPublic,
    LoadBalancerUpdateEnvelope,
    StatusTree,
)
from lbaas.services import loadbalancers, views
from lbaas.services.state import get_scoped
from lbaas.services.work import unit_of_work

router = APIRouter(tags=["loadbalancers"])
FIELDS = set(LoadBalancerPublic.model_fields)


@router.get("/loadbalancers", response_model=LoadBalancerList, openapi_extra=LIST_QUERY)
def list_loadbalancers(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "loadbalancer", "get_all")
    return list_page(request, services, ctx, models.LoadBalancer, "loadbalancers", None,
                     FIELDS, bulk_view=views.loadbalancer_views)


@router.post("/loadbalancers", status_code=201, response_model=LoadBalancerEnvelope)
def create_loadbalancer(body: LoadBalancerCreateEnvelope, services: ServicesDep,
                        ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "loadbalancer", "post")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        lb = loadbalancers.create(work, services.conf, services.providers, body.loadbalancer)
    return ok({"loadbalancer": lb}, 201)


@router.get("/loadbalancers/{lb_id}", response_model=LoadBalancerEnvelope)
async def show_loadbalancer(lb_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    """Runs on the event loop, not the thread pool: one primary-key read that never waits on
    a lock (WAL reader on SQLite, autocommit on PostgreSQL), cheaper than the hand-off."""
    services.policy.authorize(ctx, "loadbalancer", "get_one")
    with read_session(services.sessions) as session:
        view = views.loadbalancer_show(session, lb_id, ctx.scope_project())
    if view is None:
        raise NotFound("Load Balancer", lb_id)
    return ok({"loadbalancer": view})


@router.put("/loadbalancers/{lb_id}", status_code=202, response_model=LoadBalancerEnvelope)
def update_loadbalancer(lb_id: str, body: LoadBalancerUpdateEnvelope, services: ServicesDep,
                        ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "loadbalancer", "put")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        lb = loadbalancers.update(work, lb_id, body.loadbalancer)
    return ok({"loadbalancer": lb}, 202)


@router.delete("/loadbalancers/{lb_id}", status_code=204)
def delete_loadbalancer(lb_id: str, services: ServicesDep, ctx: ContextDep,
                        cascade: Annotated[bool, Query()] = False) -> Response:
    services.policy.authorize(ctx, "loadbalancer", "delete")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        loadbalancers.delete(work, lb_id, cascade)
    return no_content()


@router.get("/loadbalancers/{lb_id}/status", response_model=StatusTree)
@router.get("/loadbalancers/{lb_id}/statuses", response_model=StatusTree,
            include_in_schema=False)
def loadbalancer_status(lb_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "loadbalancer", "get_status")
    with read_session(services.sessions) as session:
        lb = get_scoped(session, models.LoadBalancer, lb_id, ctx.scope_project(),
                        "Load Balancer")
        return ok(views.status_tree(lb))


@router.get("/loadbalancers/{lb_id}/stats", response_model=StatsEnvelope)
def loadbalancer_stats(lb_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "loadbalancer", "get_stats")
    with read_session(services.sessions) as session:
        get_scoped(session, models.LoadBalancer, lb_id, ctx.scope_project(), "Load Balancer")
        return ok({"stats": loadbalancers.stats(session, lb_id=lb_id)})


@router.put("/loadbalancers/{lb_id}/failover", status_code=202, response_class=Response)
def failover_loadbalancer(lb_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "loadbalancer", "put_failover")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        loadbalancers.failover(work, lb_id)
    return accepted()
