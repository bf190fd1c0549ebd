"""Neutron-shaped networks, subnets and ports (``/v2.0/networks`` …) without Neutron.

Also served under ``/v2``: after version discovery (``GET /``) clients use that prefix.

Admins register networks and subnets; everyone reads those shared with them, which is what the
``openstack`` CLI does to resolve ``--vip-subnet-id`` and ``--subnet-id``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.responses import JSONBody, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.network import NetworkCreateEnvelope, SubnetCreateEnvelope
from lbaas.services import networks

router = APIRouter(tags=["networking"])
Lister = Callable[[Session, RequestContext], list[dict[str, Any]]]
Shower = Callable[[Session, RequestContext, str], dict[str, Any]]


def _filter(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutron-style equality filters (repeat a key for OR) and ``fields``."""
    params = request.query_params
    for key in {k for k in params if k != "fields"}:
        wanted = set(params.getlist(key))
        items = [
            i
            for i in items
            if (key in i and str(i[key]) in wanted)
            or (
                str(i.get(key)).lower() in {w.lower() for w in wanted}
                and isinstance(i.get(key), bool)
            )
        ]
    fields = [f for raw in params.getlist("fields") for f in raw.split(",") if f]
    if fields:
        items = [{k: v for k, v in i.items() if k in fields} for i in items]
    return items


def _list(
    request: Request, services: ServicesDep, ctx: RequestContext, lister: Lister, key: str
) -> JSONBody:
    with read_session(services.sessions) as session:
        items = lister(session, ctx)
    return ok({key: _filter(request, items)})


def _show(
    services: ServicesDep, ctx: RequestContext, shower: Shower, obj_id: str, key: str
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = shower(session, ctx, obj_id)
    return ok({key: out})


@router.get("/networks")
def list_networks(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "get_all")],
) -> JSONBody:
    return _list(request, services, ctx, networks.list_networks, "networks")


@router.get("/networks/{network_id}")
def show_network(
    network_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "get_one")],
) -> JSONBody:
    return _show(services, ctx, networks.show_network, network_id, "network")


@router.post("/networks", status_code=201)
def create_network(
    body: NetworkCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "post")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = networks.create_network(session, ctx, body.network)
    return ok({"network": out}, 201)


@router.delete("/networks/{network_id}", status_code=204)
def delete_network(
    network_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        networks.delete_network(session, network_id)
    return no_content()


@router.get("/subnets")
def list_subnets(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "get_all")],
) -> JSONBody:
    return _list(request, services, ctx, networks.list_subnets, "subnets")


@router.get("/subnets/{subnet_id}")
def show_subnet(
    subnet_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "get_one")],
) -> JSONBody:
    return _show(services, ctx, networks.show_subnet, subnet_id, "subnet")


@router.post("/subnets", status_code=201)
def create_subnet(
    body: SubnetCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "post")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = networks.create_subnet(session, body.subnet)
    return ok({"subnet": out}, 201)


@router.delete("/subnets/{subnet_id}", status_code=204)
def delete_subnet(
    subnet_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        networks.delete_subnet(session, subnet_id)
    return no_content()


@router.get("/ports")
def list_ports(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "get_all")],
) -> JSONBody:
    return _list(request, services, ctx, networks.list_ports, "ports")


@router.get("/ports/{port_id}")
def show_port(
    port_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("network", "get_one")],
) -> JSONBody:
    return _show(services, ctx, networks.show_port, port_id, "port")
