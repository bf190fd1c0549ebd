"""Netlink by diffing: make links, addresses and default routes what they should be.

Each function reads the current state through a pyroute2 ``IPRoute`` (already bound to the right
namespace, see :func:`lbaas.drivers.interface.namespaces.iproute`), adds what is missing, deletes
what is stale and tolerates "already exists" / "already gone" races, so calling it twice is a
no-op. Used by :mod:`lbaas.drivers.interface.vip_plug`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Collection
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from lbaas.drivers.interface.namespaces import ALREADY_EXISTS, NOT_FOUND, is_errno

LOG = logging.getLogger(__name__)

IFA_F_NODAD = 0x02
RT_TABLE_MAIN = 254
RTN_UNICAST = 1

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def get_link(ipr: IPRoute, ifname: str) -> Any | None:
    """The RTM_NEWLINK message of ``ifname``, or None when there is no such link."""
    try:
        links = ipr.link("get", ifname=ifname)
    except NetlinkError as exc:
        if is_errno(exc, *NOT_FOUND):
            return None
        raise
    return links[0] if links else None


def link_kind(link: Any) -> str | None:
    """``"veth"``, ``"bridge"``... from IFLA_LINKINFO, or None."""
    info = link.get_attr("IFLA_LINKINFO")
    return info.get_attr("IFLA_INFO_KIND") if info is not None else None


def delete_link(ipr: IPRoute, ifname: str) -> bool:
    """Delete ``ifname`` (for a veth: the pair). Returns False when it was already gone."""
    link = get_link(ipr, ifname)
    if link is None:
        return False
    try:
        ipr.link("del", index=link["index"])
    except NetlinkError as exc:
        if is_errno(exc, *NOT_FOUND):
            return False
        raise
    return True


def ensure_veth_pair(
    root: IPRoute, inner_ns: IPRoute, outer: str, inner: str, namespace: str
) -> tuple[int, int]:
    """Ensure veth ``outer`` (here) is paired with ``inner`` (inside ``namespace``).

    A half pair, a pair whose ends do not point at each other, or an ``outer`` that is not a veth
    is deleted and recreated. The inner end is created directly in the namespace, so its name
    never collides with a root-namespace interface. Returns (outer index, inner index).
    """
    out_link = get_link(root, outer)
    in_link = get_link(inner_ns, inner)
    if out_link is not None and in_link is not None:
        paired = (
            link_kind(out_link) == "veth"
            and out_link.get_attr("IFLA_LINK") == in_link["index"]
            and in_link.get_attr("IFLA_LINK") == out_link["index"]
        )
        if paired:
            return out_link["index"], in_link["index"]
    if out_link is not None:
        LOG.info("recreating veth %s: its peer is not %s in %s", outer, inner, namespace)
        delete_link(root, outer)
    if in_link is not None:
        delete_link(inner_ns, inner)
    try:
        root.link("add", ifname=outer, kind="veth", peer={"ifname": inner, "net_ns_fd": namespace})
    except NetlinkError as exc:
        if not is_errno(exc, *ALREADY_EXISTS):
            raise
    out_link = get_link(root, outer)
    in_link = get_link(inner_ns, inner)
    if out_link is None or in_link is None:
        raise RuntimeError(f"veth {outer}/{inner} vanished right after creation")
    return out_link["index"], in_link["index"]


def ensure_link(
    ipr: IPRoute,
    index: int,
    *,
    master: int | None = None,
    mtu: int | None = None,
    address: str | None = None,
) -> None:
    """Set what differs among master, MTU and MAC of link ``index``, then bring it up."""
    link = ipr.link("get", index=index)[0]
    changes: dict[str, Any] = {}
    if master is not None and link.get_attr("IFLA_MASTER") != master:
        changes["master"] = master
    if mtu is not None and link.get_attr("IFLA_MTU") != mtu:
        changes["mtu"] = mtu
    if address is not None and str(link.get_attr("IFLA_ADDRESS")).lower() != address.lower():
        changes["address"] = address.lower()
    if changes:
        ipr.link("set", index=index, **changes)
    if not link["flags"] & 1:  # IFF_UP
        ipr.link("set", index=index, state="up")


def wait_operstate_up(ipr: IPRoute, index: int, timeout: float = 2.0) -> bool:
    """Wait until link ``index`` is operationally UP (its qdisc is active and frames leave).

    Right after "set up" the kernel's linkwatch work may not have run yet. Returns False on
    timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        link = ipr.link("get", index=index)[0]
        if link.get_attr("IFLA_OPERSTATE") == "UP":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def addresses(ipr: IPRoute, index: int) -> set[IPInterface]:
    """Every address of link ``index`` (IPv6 link-local ones included)."""
    current: set[IPInterface] = set()
    for msg in ipr.addr("dump", index=index):
        if msg["index"] != index:
            continue
        current.add(ipaddress.ip_interface(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}"))
    return current


def ensure_addresses(ipr: IPRoute, index: int, wanted: list[IPInterface],
                     kept: Collection[IPAddress] = ()) -> None:
    """Make ``wanted`` the only addresses of link ``index`` (IPv6 link-local ones are kept, and
    so are ``kept`` ones: what keepalived adds and removes, loopback's own)."""
    current = addresses(ipr, index)
    for stale in current - set(wanted):
        if (stale.version == 6 and stale.ip.is_link_local) or stale.ip in kept:
            continue
        LOG.info("removing stale address %s from link %d", stale, index)
        try:
            ipr.addr("del", index=index, address=str(stale.ip), prefixlen=stale.network.prefixlen)
        except NetlinkError as exc:
            if not is_errno(exc, *NOT_FOUND):
                raise
    for missing in [w for w in wanted if w not in current]:
        extra: dict[str, Any] = {}
        if missing.version == 6:
            extra["flags"] = IFA_F_NODAD  # usable at once: no tentative state
        try:
            ipr.addr(
                "add",
                index=index,
                address=str(missing.ip),
                prefixlen=missing.network.prefixlen,
                **extra,
            )
        except NetlinkError as exc:
            if not is_errno(exc, *ALREADY_EXISTS):
                raise


def default_routes(ipr: IPRoute, family: int) -> list[Any]:
    """The main table's unicast default routes of ``family`` (RTM_NEWROUTE messages)."""
    return [
        route
        for route in ipr.route("dump", family=family)
        if route["dst_len"] == 0
        and route.get_attr("RTA_TABLE", route["table"]) == RT_TABLE_MAIN
        and route["type"] == RTN_UNICAST
    ]


def ensure_default_route(ipr: IPRoute, index: int, family: int, gateway: str | None) -> None:
    """Make the main table's default route of ``family`` go via ``gateway`` out of ``index``.

    ``gateway=None`` removes every default route of that family.
    """
    wanted_ok = False
    for route in default_routes(ipr, family):
        same = (
            gateway is not None
            and route.get_attr("RTA_GATEWAY") == gateway
            and route.get_attr("RTA_OIF") == index
        )
        if same and not wanted_ok:
            wanted_ok = True
            continue
        LOG.info("removing stale default route via %s", route.get_attr("RTA_GATEWAY"))
        try:
            ipr.route("del", **_route_key(route, family))
        except NetlinkError as exc:
            if not is_errno(exc, *NOT_FOUND):
                raise
    if gateway is not None and not wanted_ok:
        dst = "0.0.0.0/0" if family == socket.AF_INET else "::/0"
        ipr.route("replace", dst=dst, gateway=gateway, oif=index)


def _route_key(route: Any, family: int) -> dict[str, Any]:
    # The scope too: pyroute2 asks for scope universe by default, and the kernel then finds no
    # IPv4 device route ("default dev eth0", scope link) to delete (ESRCH, read as "gone").
    key: dict[str, Any] = {
        "dst": "0.0.0.0/0" if family == socket.AF_INET else "::/0",
        "table": RT_TABLE_MAIN,
        "scope": route["scope"],
    }
    attrs = (("RTA_GATEWAY", "gateway"), ("RTA_OIF", "oif"), ("RTA_PRIORITY", "priority"))
    for attr, name in attrs:
        value = route.get_attr(attr)
        if value is not None:
            key[name] = value
    return key
