"""Unversioned documents: the version list (no auth), health check, metrics (an admin or the
scrape token), Keystone-shaped project lookup used by the ``openstack`` CLI."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.metrics_auth import scrape_allowed
from lbaas.api.responses import JSONBody, base_url, ok
from lbaas.core.errors import NotFound

router = APIRouter(tags=["meta"])

SUPPORTED = ["2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10",
             "2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "2.17", "2.18", "2.19", "2.20",
             "2.21", "2.22", "2.23", "2.24", "2.25", "2.26", "2.27", "2.28", "2.29", "2.30"]
UPDATED = "2024-01-01T00:00:00Z"


def version_list(base: str) -> list[dict[str, Any]]:
    href = f"{base.rstrip('/')}/v2"
    return [{"id": f"v{v}", "status": "CURRENT" if v == SUPPORTED[-1] else "SUPPORTED",
             "updated": UPDATED, "links": [{"href": href, "rel": "self"}]} for v in SUPPORTED]


@router.get("/")
def versions(request: Request, services: ServicesDep) -> JSONBody:
    return ok({"versions": version_list(base_url(services, request))})


@router.get("/v2")
@router.get("/v2.0", include_in_schema=False)
def version_v2(request: Request, services: ServicesDep) -> JSONBody:
    current = version_list(base_url(services, request))[-1]
    return ok({"version": current})


@router.get("/healthcheck", response_class=PlainTextResponse)
def healthcheck(services: ServicesDep) -> Response:
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return Response("database unavailable", status_code=503, media_type="text/plain")
    return Response("OK", media_type="text/plain")


@router.get("/metrics", response_class=PlainTextResponse,
            dependencies=[Depends(scrape_allowed)])
def metrics(request: Request) -> Response:
    """Only for the scrape token or an admin (``lbaas/api/metrics_auth.py``): the fleet
    metrics name every project's load balancers."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/projects/{project_id}")
@router.get("/v3/projects/{project_id}", include_in_schema=False)
def show_project(project_id: str, ctx: ContextDep) -> JSONBody:
    if not ctx.is_admin and project_id != ctx.project_id:
        raise NotFound("Project", project_id)
    return ok({"project": {"id": project_id, "name": project_id, "domain_id": "default",
                           "enabled": True, "description": "", "is_domain": False,
                           "parent_id": "default", "tags": [], "links": {}}})
