"""/v2/lbaas/quotas: per-project quotas (null = default, -1 = unlimited) and their defaults."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.responses import JSONBody, no_content, ok
from lbaas.core.errors import Forbidden
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.admin import QuotaEnvelope, QuotaList, QuotaUpdateEnvelope
from lbaas.services import quotas

router = APIRouter(tags=["quotas"])


@router.get("/quotas", response_model=QuotaList)
def list_quotas(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "quota", "get_all")
    wanted = request.query_params.get("project_id") or request.query_params.get("tenant_id")
    with read_session(services.sessions) as session:
        stmt = select(models.Quota).order_by(models.Quota.project_id)
        if wanted:
            stmt = stmt.where(models.Quota.project_id == wanted)
        rows = list(session.scalars(stmt))
    return ok({"quotas": [quotas.quota_view(r, services.conf, r.project_id) for r in rows],
               "quotas_links": []})


@router.get("/quotas/defaults", response_model=QuotaEnvelope)
def quota_defaults(services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "quota", "get_defaults")
    body = quotas.quota_view(None, services.conf, "")
    del body["project_id"]
    return ok({"quota": body})


def _check_project(ctx: ContextDep, project_id: str) -> None:
    if not ctx.is_admin and project_id != ctx.project_id:
        raise Forbidden("Only administrators may see other projects' quotas.")


@router.get("/quotas/{project_id}", response_model=QuotaEnvelope)
def show_quota(project_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "quota", "get_one")
    _check_project(ctx, project_id)
    with read_session(services.sessions) as session:
        row = session.get(models.Quota, project_id)
        return ok({"quota": quotas.quota_view(row, services.conf, project_id)})


@router.put("/quotas/{project_id}", status_code=202, response_model=QuotaEnvelope)
def update_quota(project_id: str, body: QuotaUpdateEnvelope, services: ServicesDep,
                 ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "quota", "put")
    values = body.quota.model_dump(exclude_unset=True)
    for legacy, field in (("loadbalancer", "load_balancer"), ("healthmonitor", "health_monitor")):
        if legacy in values:
            values.setdefault(field, values.pop(legacy))
    with write_session(services.sessions) as session:
        row = session.get(models.Quota, project_id)
        if row is None:
            row = models.Quota(project_id=project_id)
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        out = quotas.quota_view(row, services.conf, project_id)
    return ok({"quota": out}, 202)


@router.delete("/quotas/{project_id}", status_code=204)
def reset_quota(project_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "quota", "delete")
    with write_session(services.sessions) as session:
        row = session.get(models.Quota, project_id)
        if row is not None:
            session.delete(row)
    return no_content()
