"""Networks and subnets registered by an admin (no Neutron needed), and VIP address allocation.

The ``/v2.0/networks``, ``/subnets`` and ``/ports`` routes call the list, show, create and delete
functions here; load balancer creation calls the VIP allocation.

A VIP takes a Port row on its subnet; the (subnet, address) unique constraint guarantees that two
load balancers never get the same address, even when created concurrently by several servers. On
a dual-stack network (an IPv4 and an IPv6 subnet) a load balancer also takes a source address of
the family its VIP is not of (:func:`allocate_source`): no listener serves it, haproxy reaches
members of that family from it.
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select
from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.core.errors import Conflict, InvalidInput, NotFound
from lbaas.db import models
from lbaas.db.rows import insert_linked
from lbaas.schemas.network import NetworkCreate, SubnetCreate

_SUBNETS = models.Subnet.__table__
_PORTS = models.Base.metadata.tables["ports"]
_SUBNET_BY_ID = select(_SUBNETS.c.id, _SUBNETS.c.network_id, _SUBNETS.c.cidr,
                       _SUBNETS.c.gateway_ip, _SUBNETS.c.allocation_pools
                       ).where(_SUBNETS.c.id == bindparam("id"))
_TAKEN = select(_PORTS.c.ip_address).where(
    _PORTS.c.subnet_id == bindparam("subnet_id"),
    _PORTS.c.ip_address.in_(bindparam("addresses", expanding=True)))
_SUBNET_OF_FAMILY = select(_SUBNETS.c.id, _SUBNETS.c.network_id, _SUBNETS.c.cidr,
                          _SUBNETS.c.gateway_ip, _SUBNETS.c.allocation_pools
                          ).where(_SUBNETS.c.network_id == bindparam("network_id"),
                                  _SUBNETS.c.ip_version == bindparam("version")
                                  ).order_by(_SUBNETS.c.created_at, _SUBNETS.c.id).limit(1)
ALLOCATION_ATTEMPTS = 5
"""Addresses tried when concurrent creators (other API servers) take the chosen one first."""
VIP_OWNER = "lbaas:vip"
SOURCE_OWNER = "lbaas:source"
"""device_owner of a load balancer's source address: on a dual-stack VIP network, an address
of the family the VIP is not of, from which haproxy reaches members of that family."""
_SOURCE_PORT_IDS = uuid.UUID("6f1c1b2e-55a4-4c1e-9a53-2c8f0f6b7a10")


@dataclass(frozen=True)
class SubnetInfo:
    """What address allocation needs to know about a subnet."""

    id: str
    network_id: str
    cidr: str
    gateway_ip: str | None
    allocation_pools: list[dict[str, str]]


def _mac_for(port_id: str) -> str:
    digits = port_id.replace("-", "")[:10]
    return "fa:16:3e:" + ":".join(digits[i:i + 2] for i in range(0, 6, 2))


def validate_subnet(cidr: str, gateway_ip: str | None, pools: list[dict[str, str]] | None,
                    gateway_given: bool) -> tuple[str, int, str | None, list[dict[str, str]]]:
    """Normalised (cidr, ip_version, gateway, allocation pools); 400 when inconsistent."""
    try:
        if "%" in cidr:  # an IPv6 zone id, which Python would keep in str(net)
            raise ValueError(cidr)
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise InvalidInput(f"Invalid input for cidr: '{cidr}' is not a valid CIDR.") from None
    if net.num_addresses < 4:  # IPv4 /31 and /32, IPv6 /127 and /128
        raise InvalidInput(f"Subnet {net} is too small for a load balancer network.")
    hosts_first = net.network_address + 1
    if not gateway_given:
        gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None = hosts_first
    elif gateway_ip is None:
        gateway = None
    else:
        try:
            gateway = ipaddress.ip_address(gateway_ip)
        except ValueError:
            raise InvalidInput(f"gateway_ip '{gateway_ip}' is not an IP address.") from None
        if gateway not in net:
            raise InvalidInput(f"gateway_ip {gateway} is not inside {net}.")
    last = net.broadcast_address - (1 if net.version == 4 else 0)
    result_pools: list[dict[str, str]] = []
    if pools:
        for pool in pools:
            try:
                start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
            except (KeyError, ValueError):
                raise InvalidInput("allocation_pools entries need valid 'start' and 'end' "
                                   "addresses.") from None
            if start not in net or end not in net or start > end:  # type: ignore[operator]
                raise InvalidInput(f"Allocation pool {start}-{end} is not a range inside {net}.")
            result_pools.append({"start": str(start), "end": str(end)})
    else:
        start = hosts_first + 1 if gateway == hosts_first else hosts_first
        result_pools.append({"start": str(start), "end": str(last)})
    return str(net), net.version, str(gateway) if gateway else None, result_pools


def source_port_id(lb_id: str) -> str:
    """Id of the port holding load balancer ``lb_id``'s source address. Derived from the id
    (UUID 5), so that the port is found and deleted by primary key: no index on device_id."""
    return str(uuid.uuid5(_SOURCE_PORT_IDS, lb_id))


def other_family_subnet(session: Session, network_id: str, vip_version: int
                        ) -> SubnetInfo | None:
    """The oldest subnet of ``network_id`` whose IP version is not ``vip_version`` (None on a
    single-stack network)."""
    other = 6 if vip_version == 4 else 4
    row = session.connection().execute(
        _SUBNET_OF_FAMILY, {"network_id": network_id, "version": other}).first()
    return None if row is None else SubnetInfo(*row)


def allocate_source(session: Session, network_id: str, vip_address: str, project_id: str,
                    lb_id: str) -> models.Port | None:
    """On a dual-stack network, take an address of the family ``vip_address`` is not of for
    load balancer ``lb_id`` (a port with :func:`source_port_id`), so that its namespace can
    reach members of both families. None on a single-stack network."""
    subnet = other_family_subnet(session, network_id, ipaddress.ip_address(vip_address).version)
    if subnet is None:
        return None
    return allocate_vip(session, subnet, project_id, lb_id, None, port_id=source_port_id(lb_id),
                        device_owner=SOURCE_OWNER)


def find_subnet(session: Session, subnet_id: str) -> SubnetInfo:
    """Subnet ``subnet_id`` (400 when there is none)."""
    row = session.connection().execute(_SUBNET_BY_ID, {"id": subnet_id}).first()
    if row is None:
        raise InvalidInput(f"Subnet {subnet_id} could not be found.")
    return SubnetInfo(*row)


def subnet_for_network(session: Session, network_id: str, version: int | None = None
                       ) -> SubnetInfo:
    """The oldest subnet of ``network_id`` (of IP ``version`` when given)."""
    network = session.get(models.Network, network_id)
    if network is None:
        raise InvalidInput(f"Network {network_id} could not be found.")
    subnets = [s for s in network.subnets if version is None or s.ip_version == version]
    if not subnets:
        raise InvalidInput(f"Network {network_id} has no subnet to allocate a VIP from.")
    first = sorted(subnets, key=lambda s: s.created_at)[0]
    return SubnetInfo(first.id, first.network_id, first.cidr, first.gateway_ip,
                      first.allocation_pools)


def allocate_vip(session: Session, subnet: SubnetInfo, project_id: str, lb_id: str,
                 address: str | None,
                 dependents: Callable[[models.Port], Sequence[Any]] = lambda _port: (),
                 port_id: str | None = None, device_owner: str = VIP_OWNER) -> models.Port:
    """Take ``address`` (checked: inside the subnet, not the gateway, free) or a free one.

    The port row is inserted at once, with ``dependents(port)`` (transient objects inserted
    only with it; one statement on PostgreSQL), and is not added to the session. The (subnet,
    address) unique key settles a race with another server: a requested address then gives 409,
    a chosen one is replaced by another free address.
    """
    conn = session.connection()
    for ip in _vip_addresses(session, subnet, address):
        role = device_owner.partition(":")[2]
        port = models.Port(id=port_id or models.new_id(), name=f"lbaas-{role}-{lb_id}",
                           project_id=project_id, network_id=subnet.network_id,
                           subnet_id=subnet.id, device_id=lb_id, device_owner=device_owner,
                           ip_address=ip, created_at=models.utcnow())
        port.mac_address = _mac_for(port.id)
        if insert_linked(conn, port, dependents(port)):
            return port
    if address is not None:
        raise Conflict(f"IP address {address} is already allocated in subnet {subnet.id}.")
    raise Conflict(f"Could not allocate an address on subnet {subnet.id}: other load "
                   "balancers took every address tried; retry the request.")


def _vip_addresses(session: Session, subnet: SubnetInfo, address: str | None
                   ) -> Iterator[str]:
    """Addresses to try, in order: the requested one (checked) alone; or, on a large subnet,
    a random one first (the insert itself finds out whether it is taken, so the common case
    needs no probe), then ones that a probe of the subnet found free."""
    net = ipaddress.ip_network(subnet.cidr)
    if address is not None:
        ip = ipaddress.ip_address(address)
        # IPv6 has no broadcast: its last address is a host's (and in the default pool).
        reserved = (net.network_address, net.broadcast_address if net.version == 4 else None)
        if ip not in net or ip in reserved:
            raise InvalidInput(f"VIP address {address} is not a usable address of subnet "
                               f"{subnet.id} ({subnet.cidr}).")
        if address == subnet.gateway_ip:
            raise InvalidInput(f"VIP address {address} is the gateway of subnet {subnet.id}.")
        yield str(ip)
        return
    ranges = _pool_ranges(subnet)
    attempts = ALLOCATION_ATTEMPTS
    if sum(end - start + 1 for start, end in ranges) > 64:
        blind = _random_address(ranges)
        if blind != subnet.gateway_ip:
            yield blind
            attempts -= 1
    for _ in range(attempts):
        yield _free_address(session, subnet)


def _pool_ranges(subnet: SubnetInfo) -> list[tuple[int, int]]:
    return [(int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"])))
            for p in subnet.allocation_pools]


def _random_address(ranges: list[tuple[int, int]]) -> str:
    start, end = random.choice(ranges)
    return str(ipaddress.ip_address(random.randint(start, end)))


def _taken(session: Session, subnet: SubnetInfo, addresses: list[str]) -> set[str]:
    return set(session.connection().execute(
        _TAKEN, {"subnet_id": subnet.id, "addresses": addresses}).scalars())


def _free_address(session: Session, subnet: SubnetInfo) -> str:
    """A free address: a few random probes first (cheap however many VIPs exist), then a scan."""
    ranges = _pool_ranges(subnet)
    if sum(end - start + 1 for start, end in ranges) > 64:
        probes = [_random_address(ranges) for _ in range(16)]
        taken = _taken(session, subnet, probes)
        free = [p for p in dict.fromkeys(probes) if p != subnet.gateway_ip and p not in taken]
        if free:
            return free[0]
    used = set(session.scalars(select(models.Port.ip_address)
                               .where(models.Port.subnet_id == subnet.id)))
    return _first_free(subnet, used)


def _first_free(subnet: SubnetInfo, used: set[str]) -> str:
    for pool in subnet.allocation_pools:
        start = ipaddress.ip_address(pool["start"])
        end = ipaddress.ip_address(pool["end"])
        size = int(end) - int(start) + 1
        # Start at a random offset so concurrent creators rarely race for one address.
        offset = random.randrange(size) if size > 64 else 0
        for i in range(size):
            ip = str(ipaddress.ip_address(int(start) + (offset + i) % size))
            if ip not in used and ip != subnet.gateway_ip:
                return ip
    raise Conflict(f"No more IP addresses available on subnet {subnet.id}.")


def network_view(net: models.Network) -> dict[str, Any]:
    return {"id": net.id, "name": net.name, "project_id": net.project_id,
            "tenant_id": net.project_id, "shared": net.shared,
            "admin_state_up": net.admin_state_up, "status": "ACTIVE", "mtu": net.mtu,
            "subnets": [s.id for s in net.subnets], "router:external": False}


def subnet_view(sub: models.Subnet) -> dict[str, Any]:
    return {"id": sub.id, "name": sub.name, "network_id": sub.network_id,
            "project_id": sub.project_id, "tenant_id": sub.project_id, "cidr": sub.cidr,
            "ip_version": sub.ip_version, "gateway_ip": sub.gateway_ip,
            "allocation_pools": sub.allocation_pools, "enable_dhcp": False}


def port_view(port: models.Port) -> dict[str, Any]:
    return {"id": port.id, "name": port.name, "network_id": port.network_id,
            "project_id": port.project_id, "tenant_id": port.project_id,
            "fixed_ips": [{"subnet_id": port.subnet_id, "ip_address": port.ip_address}],
            "mac_address": port.mac_address, "device_owner": port.device_owner,
            "device_id": port.device_id, "status": "ACTIVE", "admin_state_up": True}


def get_network(session: Session, network_id: str) -> models.Network:
    net = session.get(models.Network, network_id)
    if net is None:
        raise NotFound("Network", network_id)
    return net


def _visible(ctx: RequestContext, model: Any) -> list[ColumnElement[bool]]:
    """Conditions confining ``model`` rows to those ``ctx`` may see (none for an admin):
    shared networks and the caller's own, their subnets, the caller's ports."""
    if ctx.is_admin:
        return []
    if model is models.Network:
        return [or_(models.Network.shared.is_(True), models.Network.project_id == ctx.project_id)]
    if model is models.Subnet:
        shared = select(models.Network.id).where(or_(models.Network.shared.is_(True),
                                                     models.Network.project_id == ctx.project_id))
        return [models.Subnet.network_id.in_(shared)]
    return [models.Port.project_id == ctx.project_id]


def _list(session: Session, ctx: RequestContext, model: Any,
          view: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    rows = session.scalars(select(model).where(*_visible(ctx, model)).order_by(model.created_at))
    return [view(r) for r in rows]


def _show(session: Session, ctx: RequestContext, model: Any, obj_id: str,
          view: Callable[[Any], dict[str, Any]], label: str) -> dict[str, Any]:
    obj = session.scalars(select(model).where(model.id == obj_id, *_visible(ctx, model))).first()
    if obj is None:
        raise NotFound(label, obj_id)
    return view(obj)


def list_networks(session: Session, ctx: RequestContext) -> list[dict[str, Any]]:
    """The networks ``ctx`` may see, oldest first."""
    return _list(session, ctx, models.Network, network_view)


def show_network(session: Session, ctx: RequestContext, network_id: str) -> dict[str, Any]:
    return _show(session, ctx, models.Network, network_id, network_view, "Network")


def create_network(session: Session, ctx: RequestContext, data: NetworkCreate) -> dict[str, Any]:
    """Register a network (in the caller's project unless the request names one)."""
    net = models.Network(id=models.new_id(), name=data.name, shared=data.shared,
                         admin_state_up=data.admin_state_up, mtu=data.mtu,
                         project_id=data.project_id or data.tenant_id or ctx.project_id)
    session.add(net)
    session.flush()
    return network_view(net)


def delete_network(session: Session, network_id: str) -> None:
    """Delete a network no VIP is on (409 when one is)."""
    net = get_network(session, network_id)
    if session.scalars(select(models.Port.id)
                       .where(models.Port.network_id == network_id)).first():
        raise Conflict(f"Network {network_id} has load balancer VIPs on it.")
    session.delete(net)


def list_subnets(session: Session, ctx: RequestContext) -> list[dict[str, Any]]:
    """The subnets of the networks ``ctx`` may see, oldest first."""
    return _list(session, ctx, models.Subnet, subnet_view)


def show_subnet(session: Session, ctx: RequestContext, subnet_id: str) -> dict[str, Any]:
    return _show(session, ctx, models.Subnet, subnet_id, subnet_view, "Subnet")


def create_subnet(session: Session, data: SubnetCreate) -> dict[str, Any]:
    """Register a subnet of an existing network (400 when inconsistent or the network is
    unknown); it belongs to the network's project unless the request names one."""
    gateway_given = "gateway_ip" in data.model_fields_set
    pools = [p.model_dump() for p in data.allocation_pools] if data.allocation_pools else None
    cidr, version, gateway, pools = validate_subnet(data.cidr, data.gateway_ip, pools,
                                                    gateway_given)
    if data.ip_version is not None and data.ip_version != version:
        raise InvalidInput(f"ip_version {data.ip_version} does not match cidr {cidr}.")
    net = session.get(models.Network, data.network_id)
    if net is None:
        raise InvalidInput(f"Network {data.network_id} could not be found.")
    subnet = models.Subnet(id=models.new_id(), network_id=net.id, name=data.name,
                           project_id=data.project_id or data.tenant_id or net.project_id,
                           cidr=cidr, ip_version=version, gateway_ip=gateway,
                           allocation_pools=pools)
    session.add(subnet)
    session.flush()
    return subnet_view(subnet)


def delete_subnet(session: Session, subnet_id: str) -> None:
    """Delete a subnet no VIP is on (404 when unknown, 409 when in use)."""
    subnet = session.get(models.Subnet, subnet_id)
    if subnet is None:
        raise NotFound("Subnet", subnet_id)
    if session.scalars(select(models.Port.id)
                       .where(models.Port.subnet_id == subnet_id)).first():
        raise Conflict(f"Subnet {subnet_id} has load balancer VIPs on it.")
    session.delete(subnet)


def list_ports(session: Session, ctx: RequestContext) -> list[dict[str, Any]]:
    """The ports (VIPs) of ``ctx``'s project (every port for an admin), oldest first."""
    return _list(session, ctx, models.Port, port_view)


def show_port(session: Session, ctx: RequestContext, port_id: str) -> dict[str, Any]:
    return _show(session, ctx, models.Port, port_id, port_view, "Port")
