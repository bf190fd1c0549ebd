"""Neutron-shaped networks, subnets and ports (``/v2.0/networks`` …) without Neutron.

Also served under ``/v2``: after version discovery (``GET /``) clients use that prefix.

Admins register networks and subnets; everyone reads those shared with them, which is what the
``openstack`` CLI does to resolve ``--vip-subnet-id`` and ``--subnet-id``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import or_, select

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.responses import JSONBody, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.errors import Conflict, InvalidInput, NotFound
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.network import NetworkCreateEnvelope, SubnetCreateEnvelope
from lbaas.services import networks

router = APIRouter(tags=["networking"])


def _visible(ctx: RequestContext, model: Any) -> list[Any]:
    if ctx.is_admin:
        return []
    if model is models.Network:
        return [or_(models.Network.shared.is_(True), models.Network.project_id == ctx.project_id)]
    if model is models.Subnet:
        shared = select(models.Network.id).where(or_(models.Network.shared.is_(True),
                                                     models.Network.project_id == ctx.project_id))
        return [models.Subnet.network_id.in_(shared)]
    return [models.Port.project_id == ctx.project_id]


def _filter(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutron-style equality filters (repeat a key for OR) and ``fields``."""
    params = request.query_params
    for key in {k for k in params if k != "fields"}:
        wanted = set(params.getlist(key))
        items = [i for i in items if (key in i and str(i[key]) in wanted)
                 or (str(i.get(key)).lower() in {w.lower() for w in wanted}
                 and isinstance(i.get(key), bool))]
    fields = [f for raw in params.getlist("fields") for f in raw.split(",") if f]
    if fields:
        items = [{k: v for k, v in i.items() if k in fields} for i in items]
    return items


def _list(request: Request, services: ServicesDep, ctx: RequestContext, model: Any,
          view: Callable[[Any], dict[str, Any]], key: str) -> JSONBody:
    services.policy.authorize(ctx, "network", "get_all")
    with read_session(services.sessions) as session:
        rows = session.scalars(select(model).where(*_visible(ctx, model))
                               .order_by(model.created_at))
        items = [view(r) for r in rows]
    return ok({key: _filter(request, items)})


def _show(services: ServicesDep, ctx: RequestContext, model: Any, obj_id: str,
          view: Callable[[Any], dict[str, Any]], key: str, label: str) -> JSONBody:
    services.policy.authorize(ctx, "network", "get_one")
    with read_session(services.sessions) as session:
        obj = session.scalars(select(model).where(model.id == obj_id, *_visible(ctx, model))
                              ).first()
        if obj is None:
            raise NotFound(label, obj_id)
        return ok({key: view(obj)})


@router.get("/networks")
def list_networks(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    return _list(request, services, ctx, models.Network, networks.network_view, "networks")


@router.get("/networks/{network_id}")
def show_network(network_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    return _show(services, ctx, models.Network, network_id, networks.network_view, "network",
                 "Network")


@router.post("/networks", status_code=201)
def create_network(body: NetworkCreateEnvelope, services: ServicesDep,
                   ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "network", "post")
    data = body.network
    with write_session(services.sessions) as session:
        net = models.Network(id=models.new_id(), name=data.name, shared=data.shared,
                             admin_state_up=data.admin_state_up, mtu=data.mtu,
                             project_id=data.project_id or data.tenant_id or ctx.project_id)
        session.add(net)
        session.flush()
        return ok({"network": networks.network_view(net)}, 201)


@router.delete("/networks/{network_id}", status_code=204)
def delete_network(network_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "network", "delete")
    with write_session(services.sessions) as session:
        net = networks.get_network(session, network_id)
        if session.scalars(select(models.Port.id)
                           .where(models.Port.network_id == network_id)).first():
            raise Conflict(f"Network {network_id} has load balancer VIPs on it.")
        session.delete(net)
    return no_content()


@router.get("/subnets")
def list_subnets(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    return _list(request, services, ctx, models.Subnet, networks.subnet_view, "subnets")


@router.get("/subnets/{subnet_id}")
def show_subnet(subnet_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    return _show(services, ctx, models.Subnet, subnet_id, networks.subnet_view, "subnet",
                 "Subnet")


@router.post("/subnets", status_code=201)
def create_subnet(body: SubnetCreateEnvelope, services: ServicesDep,
                  ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "network", "post")
    data = body.subnet
    gateway_given = "gateway_ip" in data.model_fields_set
    pools = [p.model_dump() for p in data.allocation_pools] if data.allocation_pools else None
    cidr, version, gateway, pools = networks.validate_subnet(data.cidr, data.gateway_ip, pools,
                                                             gateway_given)
    if data.ip_version is not None and data.ip_version != version:
        raise InvalidInput(f"ip_version {data.ip_version} does not match cidr {cidr}.")
    with write_session(services.sessions) as session:
        net = session.get(models.Network, data.network_id)
        if net is None:
            raise InvalidInput(f"Network {data.network_id} could not be found.")
        subnet = models.Subnet(id=models.new_id(), network_id=net.id, name=data.name,
                               project_id=data.project_id or data.tenant_id or net.project_id,
                               cidr=cidr, ip_version=version, gateway_ip=gateway,
                               allocation_pools=pools)
        session.add(subnet)
        session.flush()
        return ok({"subnet": networks.subnet_view(subnet)}, 201)


@router.delete("/subnets/{subnet_id}", status_code=204)
def delete_subnet(subnet_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "network", "delete")
    with write_session(services.sessions) as session:
        subnet = session.get(models.Subnet, subnet_id)
        if subnet is None:
            raise NotFound("Subnet", subnet_id)
        if session.scalars(select(models.Port.id)
                           .where(models.Port.subnet_id == subnet_id)).first():
            raise Conflict(f"Subnet {subnet_id} has load balancer VIPs on it.")
        session.delete(subnet)
    return no_content()


@router.get("/ports")
def list_ports(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    return _list(request, services, ctx, models.Port, networks.port_view, "ports")


@router.get("/ports/{port_id}")
def show_port(port_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    return _show(services, ctx, models.Port, port_id, networks.port_view, "port", "Port")
