"""Is a VIP already plugged? A read-only look at what
:func:`lbaas.drivers.interface.vip_plug.plug_vip` leaves behind, so that an unchanged load
balancer is verified without re-plugging it.

``plug_vip`` calls :func:`read_vip_state` then :func:`differences` first and returns at once when
nothing differs: no sysctl write, no link change, no wait for the operational state and no
gratuitous ARP (the MAC that owns the VIP did not change). Anything missing or different (a
namespace deleted by hand, a veth gone, an address added by hand, a new MAC asked for) makes it
plug fully.

:func:`differences` is a pure function of what was read (:class:`VipState`) and what is wanted
(:class:`WantedVip`); :func:`read_vip_state` does the reading (:mod:`.rtnl`): two netlink
requests in the root namespace, then, in one thread inside the load balancer's namespace, three
netlink dumps and the sysctls.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lbaas.drivers.interface import links
from lbaas.drivers.interface.namespaces import namespace_path, read_sysctls, run_in_namespace
from lbaas.drivers.interface.rtnl import LinkInfo, RtnlSocket

IFF_UP = 0x1
IPAddress = links.IPAddress


@dataclass(frozen=True)
class Link:
    """What the check needs of one link (from an RTM_NEWLINK message)."""

    index: int
    kind: str | None = None
    peer: int | None = None  # IFLA_LINK: the other end's index (veth)
    master: int | None = None
    mtu: int | None = None
    address: str | None = None
    up: bool = True  # administratively (IFF_UP)
    operstate: str | None = "UP"

    @classmethod
    def from_info(cls, info: LinkInfo | None) -> Link | None:
        if info is None:
            return None
        return cls(
            index=info.index,
            kind=info.kind,
            peer=info.peer,
            master=info.master,
            mtu=info.mtu,
            address=info.address,
            up=bool(info.flags & IFF_UP),
            operstate=info.operstate,
        )


@dataclass(frozen=True)
class Route:
    """A default route of the main table."""

    gateway: IPAddress | None
    oif: int | None


@dataclass(frozen=True)
class VipState:
    """What exists for one load balancer's VIP (None: that link does not exist)."""

    namespace: bool
    bridge: Link | None = None
    outer: Link | None = None
    lo: Link | None = None
    inner: Link | None = None
    addresses: frozenset[links.IPInterface] = frozenset()
    lo_addresses: frozenset[links.IPInterface] = frozenset()  # other than 127.0.0.1 and ::1
    default_routes: tuple[Route, ...] = ()  # both families
    sysctls: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class WantedVip:
    """What ``plug_vip`` was asked for."""

    vip: links.IPInterface
    gateway: IPAddress | None
    mac: str | None = None
    sysctls: Mapping[str, int] = field(default_factory=dict)  # key -> value inside
    sources: tuple[tuple[links.IPInterface, IPAddress | None], ...] = ()
    """Source addresses of the other IP family, each with its subnet's gateway (or None)."""
    floating: frozenset[IPAddress] = frozenset()
    """Addresses keepalived adds and removes (an ACTIVE_STANDBY copy's VIP, whose interface
    holds the copy's own VRRP address): neither wanted nor stale there; held on ``lo``."""

    def loopback(self) -> set[links.IPInterface]:
        """The floating addresses as ``lo`` holds them (one host each)."""
        return {ipaddress.ip_interface(f"{a}/{a.max_prefixlen}") for a in self.floating}

    def addresses(self) -> set[links.IPInterface]:
        """The VIP and the source addresses: every address ``eth0`` should hold."""
        return {self.vip, *(address for address, _gateway in self.sources)}

    def gateways(self) -> set[IPAddress]:
        """The gateways of the VIP and the source addresses: one default route each."""
        wanted = [self.gateway, *(gateway for _address, gateway in self.sources)]
        return {gateway for gateway in wanted if gateway is not None}


def differences(wanted: WantedVip, state: VipState) -> list[str]:
    """Why ``state`` is not what ``plug_vip`` would leave for ``wanted`` (empty: plugged).

    Checked: the namespace; the bridge; the outer veth (a veth, in the bridge, with its MTU,
    up); ``eth0`` inside (its peer, the bridge's MTU, the MAC if one is wanted, up and
    operationally UP); ``lo`` up; the VIP and the source addresses as the only addresses (IPv6
    link-local ones aside); the default routes via their gateways as the only default routes of
    either family; the sysctls (a missing IPv6 one is fine: IPv6 is disabled).
    """
    if not state.namespace:
        return ["no namespace"]
    problems: list[str] = []
    bridge, outer, inner = state.bridge, state.outer, state.inner
    if bridge is None or bridge.kind != "bridge":
        problems.append("no such bridge")
    if outer is None or outer.kind != "veth":
        problems.append("no outer veth")
    elif bridge is not None:
        if outer.master != bridge.index:
            problems.append("outer veth not in the bridge")
        if outer.mtu != bridge.mtu:
            problems.append("outer veth MTU differs from the bridge's")
    if outer is not None and not outer.up:
        problems.append("outer veth down")
    if inner is None:
        problems.append("no VIP interface inside")
    else:
        if outer is None or outer.peer != inner.index or inner.peer != outer.index:
            problems.append("veth ends not paired")
        if bridge is not None and inner.mtu != bridge.mtu:
            problems.append("VIP interface MTU differs from the bridge's")
        if wanted.mac is not None and (inner.address or "").lower() != wanted.mac.lower():
            problems.append("VIP interface MAC differs")
        if not inner.up or inner.operstate != "UP":
            problems.append("VIP interface not up")
    if state.lo is None or not state.lo.up:
        problems.append("lo down")
    if state.lo_addresses != wanted.loopback():
        problems.append("addresses on lo differ")
    kept = {a for a in state.addresses
            if not (a.version == 6 and a.ip.is_link_local) and a.ip not in wanted.floating}
    if kept != wanted.addresses():
        problems.append("addresses differ")
    oif = inner.index if inner is not None else None
    expected = {Route(gateway, oif) for gateway in wanted.gateways()}
    if len(state.default_routes) != len(expected) or set(state.default_routes) != expected:
        problems.append("default routes differ")
    for key, value in wanted.sysctls.items():
        current = state.sysctls.get(key)
        if current is None and key.startswith("net.ipv6."):
            continue
        if current != str(value):
            problems.append(f"sysctl {key} differs")
    return problems


def read_vip_state(
    namespace: str, bridge: str, outer: str, inner: str, sysctl_keys: Iterable[str]
) -> VipState:
    """Read what exists for a VIP: ``bridge`` and veth ``outer`` here, ``inner`` and ``lo`` in
    ``namespace`` with its addresses, default routes and ``sysctl_keys``. Changes nothing.

    Raises OSError when something vanishes while it is read.
    """
    if not os.path.exists(namespace_path(namespace)):
        return VipState(namespace=False)
    with RtnlSocket() as root:
        bridge_link = Link.from_info(root.link(bridge))
        outer_link = Link.from_info(root.link(outer))
    inside: VipState = run_in_namespace(namespace, _read_inside, inner, list(sysctl_keys))
    return VipState(
        namespace=True,
        bridge=bridge_link,
        outer=outer_link,
        lo=inside.lo,
        inner=inside.inner,
        addresses=inside.addresses,
        lo_addresses=inside.lo_addresses,
        default_routes=inside.default_routes,
        sysctls=inside.sysctls,
    )


def _read_inside(inner: str, sysctl_keys: list[str]) -> VipState:
    """Run in a thread inside the namespace: ``lo``, ``inner`` and its addresses, the default
    routes and the sysctls."""
    with RtnlSocket() as ns:
        by_name = {info.name: info for info in ns.links()}
        inner_link = Link.from_info(by_name.get(inner))
        addresses = ns.addresses(inner_link.index) if inner_link is not None else set()
        lo_link = by_name.get("lo")
        on_lo = ns.addresses(lo_link.index) if lo_link is not None else set()
        routes = tuple(Route(route.gateway, route.oif) for route in ns.default_routes())
    return VipState(
        namespace=True,
        lo=Link.from_info(by_name.get("lo")),
        inner=inner_link,
        addresses=frozenset(addresses),
        lo_addresses=frozenset(a for a in on_lo if not a.ip.is_loopback),
        default_routes=routes,
        sysctls=read_sysctls(sysctl_keys),
    )
