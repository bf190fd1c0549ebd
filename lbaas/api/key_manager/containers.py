"""``/key-manager/v1/containers``: create, list, show and delete containers (Barbican's
generic, certificate and rsa types; ``openstack secret container ...``).

A container names secrets of the caller's project; deleting it leaves them. Deleting one a
listener or pool uses is refused with 409.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from lbaas.api.key_manager.access import (
    CallerDep,
    authorize,
    base_url,
    container_for,
    services_of,
    store_of,
)
from lbaas.api.key_manager.body import json_body
from lbaas.api.key_manager.errors import invalid_object
from lbaas.api.key_manager.paging import paging
from lbaas.api.key_manager.views import container_ref, container_view, page_view
from lbaas.api.responses import JSONBody, ok
from lbaas.core.context import RequestContext
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.secret import (
    ContainerCreate,
    SchemaViolation,
    container_refs,
    parse_model,
)
from lbaas.services.secrets import list_containers

router = APIRouter()

CREATE = "Container creation"
RETRIEVE = "Container retrieval"
DELETE = "Container deletion"
LIST = "Containers(s) retrieval"


@router.post("/v1/containers", include_in_schema=False)
@router.post("/v1/containers/", include_in_schema=False)
async def create_container(request: Request, ctx: CallerDep) -> JSONBody:
    authorize(request, ctx, "containers:post", CREATE)
    raw = await json_body(request, CREATE)
    base = base_url(request)
    try:
        body: ContainerCreate = parse_model(ContainerCreate, raw)
        refs = container_refs(body, f"{base}/v1/secrets/")
    except SchemaViolation as exc:
        raise invalid_object("Container", exc.reason, exc.prop, CREATE) from None
    name = body.name.strip() if body.name is not None else None
    container_id = await run_in_threadpool(_store, request, ctx, name, body.type, refs)
    ref = container_ref(base, container_id)
    return JSONBody({"container_ref": ref}, status_code=201, headers={"Location": ref})


def _store(request: Request, ctx: RequestContext, name: str | None, type_: str,
           refs: list[tuple[str | None, str]]) -> str:
    services = services_of(request)
    with write_session(services.sessions) as session:
        container = store_of(services).create_container(session, ctx.project_id,
                                                      ctx.user_id or None, name, type_, refs)
        return container.id


@router.get("/v1/containers", include_in_schema=False)
@router.get("/v1/containers/", include_in_schema=False)
def list_all(request: Request, ctx: CallerDep) -> JSONBody:
    """The caller's project's containers, oldest first (filters: name, type)."""
    authorize(request, ctx, "containers:get", LIST)
    query = request.query_params
    offset, limit = paging(query)
    base = base_url(request)
    with read_session(services_of(request).sessions) as session:
        page = list_containers(session, ctx.project_id, offset, limit,
                               name=query.get("name") or None, type_=query.get("type") or None)
        body = page_view("containers", page.items, lambda c: container_view(c, base),
                         page.total, offset, limit, f"{base}/v1/containers",
                         list(query.multi_items()))
    return ok(body)


@router.get("/v1/containers/{container_id}", include_in_schema=False)
@router.get("/v1/containers/{container_id}/", include_in_schema=False)
def show(container_id: str, request: Request, ctx: CallerDep) -> JSONBody:
    with read_session(services_of(request).sessions) as session:
        container = container_for(request, session, ctx, container_id, "container:get",
                                  RETRIEVE)
        return ok(container_view(container, base_url(request)))


@router.delete("/v1/containers/{container_id}", include_in_schema=False)
@router.delete("/v1/containers/{container_id}/", include_in_schema=False)
def delete(container_id: str, request: Request, ctx: CallerDep) -> Response:
    """204; 409 naming the listeners or pools that still use it."""
    services = services_of(request)
    with write_session(services.sessions) as session:
        container = container_for(request, session, ctx, container_id, "container:delete",
                                  DELETE)
        store_of(services).delete_container(session, container)
    return Response(status_code=204)
