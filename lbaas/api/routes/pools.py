"""/v2/lbaas/pools: CRUD."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.kinds import POOL
from lbaas.db import models
from lbaas.schemas.pool import (
    DRAIN_TIMEOUT,
    SLOW_START,
    PoolCreateEnvelope,
    PoolEnvelope,
    PoolList,
    PoolPublic,
    PoolUpdateEnvelope,
)
from lbaas.services import pools, reads, views

router = APIRouter(tags=["pools"])
FIELDS = {field.alias or name for name, field in PoolPublic.model_fields.items()}
FILTERS = {DRAIN_TIMEOUT: "drain_timeout", SLOW_START: "slow_start"}  # lbaas's own: wire -> column


@router.get("/pools", response_model=PoolList, openapi_extra=LIST_QUERY)
def list_pools(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(POOL, "get_all")],
) -> JSONBody:
    return list_page(request, services, ctx, models.Pool, "pools", views.pool_view, FIELDS,
                     extra_filters=FILTERS)


@router.post("/pools", status_code=201, response_model=PoolEnvelope)
def create_pool(
    body: PoolCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(POOL, "post")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = pools.create(work, services.conf, body.pool)
    return ok({"pool": out}, 201)


@router.get("/pools/{pool_id}", response_model=PoolEnvelope)
def show_pool(
    pool_id: str, services: ServicesDep, ctx: Annotated[RequestContext, Authorized(POOL, "get_one")]
) -> JSONBody:
    return ok({"pool": reads.show(services.sessions, models.Pool, pool_id, ctx, views.pool_view)})


@router.put("/pools/{pool_id}", response_model=PoolEnvelope)
def update_pool(
    pool_id: str,
    body: PoolUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(POOL, "put")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = pools.update(work, pool_id, body.pool)
    return ok({"pool": out})


@router.delete("/pools/{pool_id}", status_code=204)
def delete_pool(
    pool_id: str, services: ServicesDep, ctx: Annotated[RequestContext, Authorized(POOL, "delete")]
) -> Response:
    with services.unit_of_work(ctx) as work:
        pools.delete(work, pool_id)
    return no_content()
