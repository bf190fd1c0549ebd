"""/v2/lbaas/quotas: per-project quotas (null = default, -1 = unlimited) and their defaults."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.responses import JSONBody, accepted, ok
from lbaas.core.context import RequestContext
from lbaas.core.errors import Forbidden
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.admin import QuotaEnvelope, QuotaList, QuotaUpdateEnvelope
from lbaas.services import quotas

router = APIRouter(tags=["quotas"])


@router.get("/quotas", response_model=QuotaList)
def list_quotas(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("quota", "get_all")],
) -> JSONBody:
    wanted = request.query_params.get("project_id") or request.query_params.get("tenant_id")
    with read_session(services.sessions) as session:
        items = quotas.list_quotas(session, services.conf, wanted)
    return ok({"quotas": items, "quotas_links": []})


@router.get("/quotas/defaults", response_model=QuotaEnvelope)
def quota_defaults(
    services: ServicesDep, ctx: Annotated[RequestContext, Authorized("quota", "get_defaults")]
) -> JSONBody:
    return ok({"quota": quotas.default_quota(services.conf)})


def _check_project(ctx: RequestContext, project_id: str) -> None:
    if not ctx.is_admin and project_id != ctx.project_id:
        raise Forbidden("Only administrators may see other projects' quotas.")


@router.get("/quotas/{project_id}", response_model=QuotaEnvelope)
def show_quota(
    project_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("quota", "get_one")],
) -> JSONBody:
    _check_project(ctx, project_id)
    with read_session(services.sessions) as session:
        out = quotas.show_quota(session, services.conf, project_id)
    return ok({"quota": out})


@router.put("/quotas/{project_id}", status_code=202, response_model=QuotaEnvelope)
def update_quota(
    project_id: str,
    body: QuotaUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("quota", "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = quotas.update_quota(session, services.conf, project_id, body.quota)
    return ok({"quota": out}, 202)


@router.delete("/quotas/{project_id}", status_code=202, response_class=Response)
def reset_quota(
    project_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("quota", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        quotas.reset_quota(session, project_id)
    return accepted()  # Octavia answers a quota reset with 202, not 204
