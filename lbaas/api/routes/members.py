"""/v2/lbaas/pools/{pool_id}/members: CRUD and the batch update (PUT of the whole list)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, accepted, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.kinds import MEMBER
from lbaas.db import models
from lbaas.schemas.member import (
    MemberBatchEnvelope,
    MemberCreateEnvelope,
    MemberEnvelope,
    MemberList,
    MemberPublic,
    MemberUpdateEnvelope,
)
from lbaas.services import members, reads, views

router = APIRouter(tags=["members"])
FIELDS = set(MemberPublic.model_fields)


@router.get("/pools/{pool_id}/members", response_model=MemberList, openapi_extra=LIST_QUERY)
def list_members(
    pool_id: str,
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(MEMBER, "get_all")],
) -> JSONBody:
    reads.require_visible(services.sessions, models.Pool, pool_id, ctx)
    return list_page(
        request,
        services,
        ctx,
        models.Member,
        "members",
        views.member_view,
        FIELDS,
        where=[models.Member.pool_id == pool_id],
    )


@router.post("/pools/{pool_id}/members", status_code=201, response_model=MemberEnvelope)
def create_member(
    pool_id: str,
    body: MemberCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(MEMBER, "post")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = members.create(work, services.conf, pool_id, body.member)
    return ok({"member": out}, 201)


@router.put("/pools/{pool_id}/members", status_code=202, response_class=Response)
def batch_update_members(
    pool_id: str,
    body: MemberBatchEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(MEMBER, "put")],
    additive_only: Annotated[bool, Query()] = False,
) -> Response:
    with services.unit_of_work(ctx) as work:
        members.batch_update(work, services.conf, pool_id, body.members, additive_only)
    return accepted()


@router.get("/pools/{pool_id}/members/{member_id}", response_model=MemberEnvelope)
def show_member(
    pool_id: str,
    member_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(MEMBER, "get_one")],
) -> JSONBody:
    member = reads.show(
        services.sessions, models.Member, member_id, ctx, views.member_view, (models.Pool, pool_id)
    )
    return ok({"member": member})


@router.put("/pools/{pool_id}/members/{member_id}", response_model=MemberEnvelope)
def update_member(
    pool_id: str,
    member_id: str,
    body: MemberUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(MEMBER, "put")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = members.update(work, pool_id, member_id, body.member)
    return ok({"member": out})


@router.delete("/pools/{pool_id}/members/{member_id}", status_code=204)
def delete_member(
    pool_id: str,
    member_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(MEMBER, "delete")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        members.delete(work, pool_id, member_id)
    return no_content()
