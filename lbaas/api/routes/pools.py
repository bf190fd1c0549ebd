"""/v2/lbaas/pools: CRUD."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, list_page, no_content, ok
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.schemas.pool import (
    PoolCreateEnvelope,
    PoolEnvelope,
    PoolList,
    PoolPublic,
    PoolUpdateEnvelope,
)
from lbaas.services import pools, views
from lbaas.services.state import get_scoped
from lbaas.services.work import unit_of_work

router = APIRouter(tags=["pools"])
FIELDS = set(PoolPublic.model_fields)


@router.get("/pools", response_model=PoolList, openapi_extra=LIST_QUERY)
def list_pools(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "pool", "get_all")
    return list_page(request, services, ctx, models.Pool, "pools", views.pool_view, FIELDS)


@router.post("/pools", status_code=201, response_model=PoolEnvelope)
def create_pool(body: PoolCreateEnvelope, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "pool", "post")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = pools.create(work, services.conf, body.pool)
    return ok({"pool": out}, 201)


@router.get("/pools/{pool_id}", response_model=PoolEnvelope)
def show_pool(pool_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "pool", "get_one")
    with read_session(services.sessions) as session:
        obj = get_scoped(session, models.Pool, pool_id, ctx.scope_project(), "Pool")
        return ok({"pool": views.pool_view(obj)})


@router.put("/pools/{pool_id}", status_code=202, response_model=PoolEnvelope)
def update_pool(pool_id: str, body: PoolUpdateEnvelope, services: ServicesDep,
                ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "pool", "put")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = pools.update(work, pool_id, body.pool)
    return ok({"pool": out}, 202)


@router.delete("/pools/{pool_id}", status_code=204)
def delete_pool(pool_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "pool", "delete")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        pools.delete(work, pool_id)
    return no_content()
