"""Networks and subnets registered by an admin (no Neutron needed), and VIP address allocation.

A VIP takes a Port row on its subnet; the (subnet, address) unique constraint guarantees that two
load balancers never get the same address, even when created concurrently by several servers.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lbaas.core.errors import Conflict, InvalidInput, NotFound
from lbaas.db import models
from lbaas.db.rows import insert_linked

_SUBNETS = models.Subnet.__table__
_PORTS = models.Base.metadata.tables["ports"]
_SUBNET_BY_ID = select(_SUBNETS.c.id, _SUBNETS.c.network_id, _SUBNETS.c.cidr,
                       _SUBNETS.c.gateway_ip, _SUBNETS.c.allocation_pools
                       ).where(_SUBNETS.c.id == bindparam("id"))
_TAKEN = select(_PORTS.c.ip_address).where(
    _PORTS.c.subnet_id == bindparam("subnet_id"),
    _PORTS.c.ip_address.in_(bindparam("addresses", expanding=True)))
ALLOCATION_ATTEMPTS = 5
"""Addresses tried when concurrent creators (other API servers) take the chosen one first."""


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
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise InvalidInput(f"Invalid input for cidr: '{cidr}' is not a valid CIDR.") from None
    if net.num_addresses < 4 and net.version == 4:
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
                 dependents: Callable[[models.Port], Sequence[Any]] = lambda _port: ()
                 ) -> models.Port:
    """Take ``address`` (checked: inside the subnet, not the gateway, free) or a free one.

    The port row is inserted at once, with ``dependents(port)`` (transient objects inserted
    only with it; one statement on PostgreSQL), and is not added to the session. The (subnet,
    address) unique key settles a race with another server: a requested address then gives 409,
    a chosen one is replaced by another free address.
    """
    conn = session.connection()
    for ip in _vip_addresses(session, subnet, address):
        port = models.Port(id=models.new_id(), name=f"lbaas-vip-{lb_id}",
                           project_id=project_id, network_id=subnet.network_id,
                           subnet_id=subnet.id, device_id=lb_id, device_owner="lbaas:vip",
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
        if ip not in net or ip in (net.network_address, net.broadcast_address):
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
