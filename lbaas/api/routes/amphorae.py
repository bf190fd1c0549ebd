"""/v2/octavia/amphorae: Octavia's amphora API over the copies of load balancers (list, show,
failover, configuration refresh, statistics; delete is refused), admin-only by default."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.listing import parse_view_query
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, accepted, no_content, ok, page_answer
from lbaas.core.context import RequestContext
from lbaas.core.kinds import AMPHORA
from lbaas.db.engine import read_session
from lbaas.schemas.amphora import AmphoraEnvelope, AmphoraList, AmphoraStatsEnvelope
from lbaas.services import amphorae

router = APIRouter(tags=["amphorae"])


@router.get("/amphorae", response_model=AmphoraList, openapi_extra=LIST_QUERY)
def list_amphorae(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(AMPHORA, "get_all")],
) -> JSONBody:
    """Every copy of every load balancer (a SINGLE load balancer's is synthesized), filtered on
    any attribute and on ``project_id`` (the load balancer's)."""
    q = parse_view_query(request.query_params, services.conf.api.pagination_max_limit,
                         amphorae.FIELD_TYPES, amphorae.EXTRA_FILTERS)
    with read_session(services.sessions) as session:
        items, more = amphorae.list_amphorae(session, services.conf, q, ctx.scope_project())
    return page_answer(request, services, AMPHORA.collection, items, q, more)


@router.get("/amphorae/{amphora_id}", response_model=AmphoraEnvelope)
def show_amphora(
    amphora_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(AMPHORA, "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = amphorae.show(session, services.conf, amphora_id, ctx.scope_project())
    return ok({AMPHORA.key: out})


@router.put("/amphorae/{amphora_id}/failover", status_code=202, response_class=Response)
def failover_amphora(
    amphora_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(AMPHORA, "put_failover")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        amphorae.failover(work, amphora_id)
    return accepted()


@router.put("/amphorae/{amphora_id}/config", status_code=202, response_class=Response)
def configure_amphora(
    amphora_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(AMPHORA, "put_config")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        amphorae.configure(work, amphora_id)
    return accepted()


@router.get("/amphorae/{amphora_id}/stats", response_model=AmphoraStatsEnvelope)
def amphora_stats(
    amphora_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(AMPHORA, "get_stats")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = amphorae.stats(session, amphora_id, ctx.scope_project())
    return ok({"amphora_stats": out})


@router.delete("/amphorae/{amphora_id}", status_code=204)
def delete_amphora(
    amphora_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(AMPHORA, "delete")],
) -> Response:
    """Refused (409) for every amphora: each is a copy in use by its load balancer."""
    with read_session(services.sessions) as session:
        amphorae.delete(session, amphora_id, ctx.scope_project())
    return no_content()
