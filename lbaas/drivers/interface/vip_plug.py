"""The interface driver: plug the VIP of one load balancer into its own network namespace.

Namespace and interface naming (:func:`namespace_name`, :func:`outer_ifname`,
:func:`netns_exec_argv`), the veth into the VIP network's bridge, the VIP address, the default
route and the namespace sysctls. The generic plumbing it builds on (create a namespace, run code or
netlink inside one, sysctls) is in :mod:`.namespaces`; link, address and route primitives are in
:mod:`.links`.

The agent calls :func:`plug_vip` before starting haproxy for a load balancer (and on every
verification of it), :func:`unplug_vip` after stopping it, and :func:`raise_neighbour_table_limits`
once at start (:func:`list_lb_namespaces` lists every ``qlbaas-`` namespace of the host; the agent
decides what it owns from its state directories). Every call is idempotent: it reads what exists,
adds what is missing and removes what is stale, rather than replaying a fixed list of creations.
The agent repeats a plug on every verification and may die in the middle of one, and someone may
delete a veth or a namespace by hand: a repeated or interrupted plug then converges to the wanted
state instead of failing on what already exists. A VIP found exactly as wanted (:mod:`.plugged`)
is left alone.

Layout for load balancer ``<lb_id>``::

    root namespace                          namespace qlbaas-<lb_id>
    bridge <bridge> ── tap<11 chars of id> ═══ eth0  <vip>/<prefixlen>, default via <gateway>
                                                lo   up
                                                net.ipv4.ip_nonlocal_bind=1 (and ipv6)
                                                IPv6 on, no DAD, no router advertisements

Call from a worker thread, not from a thread running an asyncio loop (pyroute2's synchronous API
runs its own loop).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
from collections.abc import Sequence

from lbaas.drivers.interface import links, plugged
from lbaas.drivers.interface.garp import send_gratuitous_arp
from lbaas.drivers.interface.namespaces import (
    delete_namespace,
    ensure_namespace,
    iproute,
    list_namespaces,
    nsenter_argv,
    read_sysctl,
    write_sysctl,
)
from lbaas.drivers.interface.ndisc import send_unsolicited_na

LOG = logging.getLogger(__name__)

NS_PREFIX = "qlbaas-"
"""Namespace of load balancer X: ``qlbaas-X`` (the neutron-lbaas name, so operators know it)."""
OUTER_PREFIX = "tap"
VIP_IFNAME = "eth0"
"""Name of the VIP interface inside every load balancer namespace."""
IFNAMSIZ = 15
IPV6_PROC_DIR = "/proc/sys/net/ipv6"
"""Missing when the kernel runs with IPv6 disabled (``ipv6.disable=1``)."""

_LB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")

LOOPBACK = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})
"""The addresses ``lo`` keeps whatever else it holds."""

NEIGH_GC_THRESH = {"gc_thresh1": 1024, "gc_thresh2": 4096, "gc_thresh3": 8192}
"""Neighbour-table limits for hosts running hundreds of namespaces (defaults: 128/512/1024)."""

HOST_SYSCTLS = {"net.core.netdev_max_backlog": 10000}
"""A broadcast on a bridge is queued once per port: with ~1,000 load balancers on one bridge the
default backlog of 1,000 drops ARP for the oldest ports (backends) and nothing answers."""

_IPV6_LINK_SETTINGS = {"disable_ipv6": 0, "accept_dad": 0, "accept_ra": 0, "autoconf": 0}
"""Per-interface IPv6 settings of the VIP interface: IPv6 on (a host may default it off), no
duplicate address detection (a new VIP would stay "tentative", unusable, for a second or more;
the VIP address also gets IFA_F_NODAD), no router advertisements (a router on a tenant network
would otherwise add default routes and SLAAC addresses that the plug removes again on every
verification, and whose routes would win over the subnet's gateway)."""

NAMESPACE_SYSCTLS: dict[str, int] = {
    "net.ipv4.ip_nonlocal_bind": 1,
    "net.ipv6.ip_nonlocal_bind": 1,
    "net.ipv6.conf.all.disable_ipv6": 0,
    **{f"net.ipv6.conf.default.{key}": value for key, value in _IPV6_LINK_SETTINGS.items()},
}
"""Set once the namespace exists, before the VIP interface is made (it inherits ``default``):
ip_nonlocal_bind lets haproxy bind the VIP before it is configured (keepalived BACKUP) and at
reload; the IPv6 ones as :data:`_IPV6_LINK_SETTINGS`."""

VIP_LINK_SYSCTLS: dict[str, int] = {
    f"net.ipv6.conf.{VIP_IFNAME}.{key}": value for key, value in _IPV6_LINK_SETTINGS.items()
} | {f"net.ipv4.conf.{VIP_IFNAME}.arp_ignore": 1, f"net.ipv4.conf.{VIP_IFNAME}.arp_announce": 2}
"""The same IPv6 settings on the VIP interface itself (it may predate ``default``'s values).
ARP answers only for the interface's own addresses (``arp_ignore``), and asks from them
(``arp_announce``): a copy of an ACTIVE_STANDBY load balancer holds the VIP on ``lo`` too, and
must not answer ARP for it while the other copy holds it."""

WANTED_SYSCTLS = {**NAMESPACE_SYSCTLS, **VIP_LINK_SYSCTLS}
"""Every sysctl a plugged namespace holds (what :mod:`.plugged` verifies)."""


class InterfaceError(Exception):
    """The interface driver cannot do what was asked (a permanent error for the caller)."""


class BridgeNotFound(InterfaceError):
    """The Linux bridge named for the VIP's network does not exist on this host."""


def _check_lb_id(lb_id: str) -> str:
    if not _LB_ID.match(lb_id):
        raise ValueError(f"invalid load balancer id {lb_id!r}")
    return lb_id


def namespace_name(lb_id: str) -> str:
    """``qlbaas-<lb_id>``."""
    return NS_PREFIX + _check_lb_id(lb_id)


def outer_ifname(lb_id: str) -> str:
    """Root-namespace end of the VIP veth: ``tap`` + first 11 characters of the id without dashes.

    Unique as long as ids differ in their first 11 hex digits (UUIDs: 44 bits).
    """
    compact = _check_lb_id(lb_id).replace("-", "")
    return (OUTER_PREFIX + compact)[:IFNAMSIZ]


def netns_exec_argv(lb_id: str) -> list[str]:
    """Command prefix that runs a program (haproxy) inside the load balancer's namespace.

    ``nsenter --net=/var/run/netns/qlbaas-<id> --``: changes only the network namespace (see
    :func:`lbaas.drivers.interface.namespaces.nsenter_argv` for why not ``ip netns exec``).
    """
    return nsenter_argv(namespace_name(lb_id))


def list_lb_namespaces() -> list[str]:
    """Ids of the load balancers whose ``qlbaas-`` namespace exists on this host."""
    return [name[len(NS_PREFIX) :] for name in list_namespaces() if name.startswith(NS_PREFIX)]


SourceAddress = tuple[str, int, str | None]
"""(address, prefix length, gateway or None) of a source address (see :func:`plug_vip`)."""


def plug_vip(
    lb_id: str,
    bridge: str,
    vip_address: str,
    prefixlen: int,
    gateway: str | None,
    mac: str | None = None,
    sources: Sequence[SourceAddress] = (),
    floating: Sequence[str] = (),
) -> bool:
    """Make namespace ``qlbaas-<lb_id>`` hold ``vip_address/prefixlen`` on a veth into ``bridge``.

    Ensures: the namespace, ``lo`` up, the ip_nonlocal_bind sysctls, veth ``tap…`` in ``bridge``
    and up (MTU of the bridge), ``eth0`` inside, up, with ``mac`` if given and with the VIP as its
    only address (IPv6: without duplicate address detection, usable at once), the default route via
    ``gateway`` (none if None; none of the other family either). ``sources``, on a dual-stack VIP
    network, add the load balancer's address of the other family (and its subnet's gateway as
    that family's default route), from which haproxy reaches members of that family. Then
    announces the MAC of every address (:func:`announce_vip`: gratuitous ARP or unsolicited
    neighbour advertisement).

    ``floating`` addresses (an ACTIVE_STANDBY copy: ``vip_address`` is then the copy's own VRRP
    address, and the VIP floats) are left as they are on ``eth0``, present or not: keepalived
    moves them. They are also held on ``lo`` (without ARP: see :data:`VIP_LINK_SYSCTLS`), so
    that the copy accepts packets for the VIP in the instant after keepalived took it away
    (a planned switch): connections open then finish instead of being dropped.

    When a read-only look finds all of that already in place (:mod:`.plugged`), nothing is
    written and nothing is announced. Returns False then, True when it plugged.

    Raises BridgeNotFound if ``bridge`` does not exist, InterfaceError if it is not a Linux
    bridge or the VIP is IPv6 on a host without IPv6, ValueError on malformed arguments,
    pyroute2's NetlinkError if the kernel refuses.
    """
    vip = ipaddress.ip_interface(f"{vip_address}/{prefixlen}")
    if mac is not None and not _MAC.match(mac):
        raise ValueError(f"invalid MAC address {mac!r}")
    gw = _gateway(gateway, vip)
    extra = tuple(_source(source, vip) for source in sources)
    if len(extra) > 1:
        raise ValueError("one source address at most: the VIP's family has the VIP")
    name = namespace_name(lb_id)
    outer = outer_ifname(lb_id)
    if any(a.version == 6 for a in (vip, *(s for s, _ in extra))) and not os.path.isdir(
        IPV6_PROC_DIR
    ):
        raise InterfaceError(f"cannot plug IPv6 addresses into {name}: IPv6 is disabled here")
    wanted = plugged.WantedVip(vip, gw, mac, WANTED_SYSCTLS, extra,
                               frozenset(ipaddress.ip_address(a) for a in floating))
    gateways: dict[int, str] = {g.version: str(g) for g in wanted.gateways()}
    try:
        state = plugged.read_vip_state(name, bridge, outer, VIP_IFNAME, WANTED_SYSCTLS)
    except OSError as exc:
        LOG.info("cannot read the VIP state of %s, plugging it: %s", name, exc)
    else:
        problems = plugged.differences(wanted, state)
        if not problems:
            return False
        if state.namespace:
            LOG.info("plugging the VIP of %s again: %s", name, "; ".join(problems))

    with iproute() as root:
        bridge_link = links.get_link(root, bridge)
        if bridge_link is None:
            raise BridgeNotFound(f"bridge {bridge} does not exist")
        if links.link_kind(bridge_link) != "bridge":
            raise InterfaceError(f"{bridge} is not a Linux bridge")
        if ensure_namespace(name):
            LOG.info("created namespace %s", name)
        _set_namespace_sysctls(name, NAMESPACE_SYSCTLS)
        with iproute(name) as inner:
            lo = inner.link_lookup(ifname="lo")
            if lo:
                links.ensure_link(inner, lo[0])
                links.ensure_addresses(inner, lo[0], sorted(wanted.loopback(), key=str),
                                       LOOPBACK)
            outer_index, inner_index = links.ensure_veth_pair(root, inner, outer, VIP_IFNAME, name)
            mtu = bridge_link.get_attr("IFLA_MTU")
            links.ensure_link(root, outer_index, master=bridge_link["index"], mtu=mtu)
            _set_namespace_sysctls(name, VIP_LINK_SYSCTLS)
            links.ensure_link(inner, inner_index, mtu=mtu, address=mac)
            links.ensure_addresses(inner, inner_index, [vip, *(s for s, _ in extra)],
                                   wanted.floating)
            for version, family in ((4, socket.AF_INET), (6, socket.AF_INET6)):
                links.ensure_default_route(inner, inner_index, family, gateways.get(version))
            inner_mac = str(inner.link("get", index=inner_index)[0].get_attr("IFLA_ADDRESS"))
            if not links.wait_operstate_up(inner, inner_index):
                LOG.warning("%s in %s is not operationally up yet", VIP_IFNAME, name)
    for address in wanted.addresses():
        announce_vip(name, inner_mac, address.ip)
    return True



def _gateway(gateway: str | None, address: links.IPInterface) -> plugged.IPAddress | None:
    gw = ipaddress.ip_address(gateway) if gateway else None
    if gw is not None and gw.version != address.version:
        raise ValueError(f"gateway {gateway} is not of the address family of {address}")
    return gw


def _source(
    source: SourceAddress, vip: links.IPInterface
) -> tuple[links.IPInterface, plugged.IPAddress | None]:
    address, prefixlen, gateway = source
    interface = ipaddress.ip_interface(f"{address}/{prefixlen}")
    if interface.version == vip.version:
        raise ValueError(f"source address {address} is of the VIP's family: one per family")
    return interface, _gateway(gateway, interface)


def announce_vip(name: str, mac: str, address: plugged.IPAddress) -> None:
    """Tell the VIP's L2 segment that ``mac`` now owns ``address``: a gratuitous ARP for IPv4,
    an unsolicited neighbour advertisement for IPv6. Failing to send is logged, not raised."""
    if address.version == 4:
        send, what = send_gratuitous_arp, "gratuitous ARP"
    else:
        send, what = send_unsolicited_na, "unsolicited neighbour advertisement"
    try:
        send(name, VIP_IFNAME, mac, str(address))
    except OSError as exc:
        LOG.warning("%s for %s in %s failed: %s", what, address, name, exc)


def _set_namespace_sysctls(name: str, sysctls: dict[str, int]) -> None:
    for key, value in sysctls.items():
        try:
            write_sysctl(key, value, namespace=name)
        except FileNotFoundError:
            if not key.startswith("net.ipv6."):
                raise
            LOG.debug("no %s: IPv6 is disabled on this host", key)


def unplug_vip(lb_id: str) -> None:
    """Delete the VIP veth and the namespace of ``lb_id``; a no-op for whatever is already gone.

    Stop the load balancer's processes first: a process still inside keeps the (then nameless)
    namespace alive.
    """
    name = namespace_name(lb_id)
    with iproute() as root:
        if links.delete_link(root, outer_ifname(lb_id)):
            LOG.info("deleted veth %s", outer_ifname(lb_id))
    if delete_namespace(name):
        LOG.info("deleted namespace %s", name)


def disconnect_vip(lb_id: str) -> bool:
    """Set the root end of ``lb_id``'s VIP veth down, so its addresses answer nobody (the next
    :func:`plug_vip` sets it up again and announces them). False when there is no such veth."""
    with iproute() as root:
        link = links.get_link(root, outer_ifname(lb_id))
        if link is None:
            return False
        root.link("set", index=link["index"], state="down")
    return True


def raise_neighbour_table_limits(limits: dict[str, int] | None = None) -> None:
    """Raise the root namespace's IPv4 and IPv6 neighbour-table gc thresholds and the device
    backlog (never lower them).

    The neighbour table is shared by every namespace; with a few hundred load balancers the
    default gc_thresh3=1024 overflows and ARP resolution fails. Call once at agent start.
    """
    wanted_values = dict(HOST_SYSCTLS)
    for family in ("ipv4", "ipv6"):
        for name, wanted in sorted((limits or NEIGH_GC_THRESH).items(), reverse=True):
            wanted_values[f"net.{family}.neigh.default.{name}"] = wanted
    for key, wanted in wanted_values.items():
        try:
            if int(read_sysctl(key)) < wanted:
                write_sysctl(key, wanted)
                LOG.info("set %s=%d", key, wanted)
        except OSError as exc:
            LOG.warning("cannot raise %s: %s", key, exc)
