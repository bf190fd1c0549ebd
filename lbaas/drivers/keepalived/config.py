"""Render keepalived.conf for one copy of an ACTIVE_STANDBY load balancer.

One ``vrrp_instance`` per load balancer, in the copy's namespace, speaking VRRP version 3 by
unicast between the two copies' own addresses (``vrrp_ip``, on ``eth0``), never by multicast:
every pair uses virtual router id 1 (:data:`lbaas.core.amphora.VRRP_ID`) and a tenant network
may carry many pairs. Both copies start ``BACKUP`` with ``nopreempt`` (as Octavia and neutron):
the priority only decides between two copies starting at once, and a copy that comes back does
not take the VIP back (a preempting failback would reset long-lived connections).

The instance holds the VIP (``virtual_ipaddress``, with the prefix length of the VIP subnet) and,
on a dual-stack VIP network, the tree's source addresses (``virtual_ipaddress_excluded``: of the
other IP family, so not carried in VRRP adverts). keepalived announces them when it takes over
and every :data:`GARP_REFRESH` seconds after (gratuitous ARP, unsolicited neighbour
advertisement for IPv6). A copy whose haproxy stops answering on its stats socket goes to FAULT
(the ``vrrp_script`` check, :mod:`.scripts`) and gives the VIP up; the notify script records
every state change in the copy's state file. The default routes stay the agent's (the plug puts
them on ``eth0`` next to ``vrrp_ip``).

Every value written is checked first and an unfit one raises
:class:`lbaas.drivers.haproxy.escaping.UnsafeConfigValue` (:class:`UnsafeKeepalivedValue`):
addresses are parsed and printed again by :mod:`ipaddress`, ids and paths matched against
strict character sets, numbers range-checked. Nothing in a tree can add a line or a word.

A copy without a peer (a tree naming one copy) runs alone: keepalived 2.2.7 has no unicast
without peers (an empty ``unicast_peer`` falls back to multicast, ``unicast_fault_no_peer`` goes
to FAULT), so its only peer is the loopback address of its family. The adverts to 127.0.0.1
stay inside the namespace; those to ::1 cannot be sent from ``eth0`` and keepalived logs so at
each advert (the copy still holds the VIP).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lbaas.core.amphora import VRRP_ID, VRRP_INTERFACE
from lbaas.core.tree import AmphoraNode, LoadBalancerTree, SubnetNode
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue, int_in_range
from lbaas.drivers.keepalived.paths import KeepalivedPaths

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

CHECK_NAME = "lbaas_haproxy"
"""Name of the ``vrrp_script`` that checks this copy's haproxy."""
CHECK_TIMEOUT = 2
"""Seconds keepalived lets the check run (socat gives up after 1 s without an answer)."""
GARP_MASTER_REPEAT = 3
"""Gratuitous ARPs (IPv6: unsolicited neighbour advertisements) sent per address at takeover."""
GARP_MASTER_DELAY = 1
"""Seconds after a takeover before a second burst (for a neighbour that missed the first)."""
GARP_REFRESH = 10
"""Seconds between the MASTER's repeated announcements (repairs stale neighbour caches, e.g. of
a host that was down at the takeover). Every pair on a tenant network adds this broadcast."""
GARP_REFRESH_REPEAT = 1
MAX_ADVERT_CENTISECONDS = 4095
"""VRRP version 3 carries the advert interval in 12 bits of centiseconds (40.95 s)."""
MAX_CHECK_INTERVAL = 3600
MAX_CHECK_COUNT = 1000
LONE_PEERS = {4: ipaddress.ip_address("127.0.0.1"), 6: ipaddress.ip_address("::1")}
"""The unicast peer of a copy without a peer (see the module's docstring)."""

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""Load balancer ids (as :mod:`lbaas.drivers.interface.vip_plug` accepts them)."""
_PATH_RE = re.compile(r"/[A-Za-z0-9_./-]{1,4000}")
"""Paths written into a ``script`` line: no space, quote, ``#``, ``!`` or backslash (keepalived
splits script lines on spaces and reads ``#``/``!`` as comments), no ``:`` or ``,`` (socat's
address syntax, for the socket)."""


class UnsafeKeepalivedValue(UnsafeConfigValue):
    """A value that cannot be written into keepalived.conf as it is."""


@dataclass(frozen=True)
class VrrpSettings:
    """The operator's VRRP timings (the ``[keepalived]`` options)."""

    advert_interval: float = 1.0
    """Seconds between adverts (centisecond resolution, VRRP version 3)."""
    check_interval: float = 1.0
    """Seconds between checks of haproxy; keepalived 2.2 runs scripts every whole second at
    best, so this is rounded up to whole seconds."""
    check_fall: int = 1
    check_rise: int = 2

    @classmethod
    def from_conf(cls, conf: Any) -> VrrpSettings:
        """The settings of ``conf``'s ``[keepalived]`` group (an oslo.config ``ConfigOpts`` with
        lbaas's options registered)."""
        group = conf.keepalived
        return cls(
            advert_interval=float(group.advert_interval),
            check_interval=float(group.check_interval),
            check_fall=int(group.check_fall),
            check_rise=int(group.check_rise),
        )


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def checked_id(value: object, what: str) -> str:
    """``value`` if it is 1-64 characters of ``[A-Za-z0-9_.-]`` starting with a letter or digit."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise UnsafeKeepalivedValue(
            f"{what} must be 1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit,"
            f" got {_show(value)}"
        )
    return value


def checked_path(value: object, what: str) -> str:
    """``value`` (a path) if it is absolute and made of ``[A-Za-z0-9_./-]`` only."""
    text = str(value) if isinstance(value, Path) else value
    if not isinstance(text, str) or not _PATH_RE.fullmatch(text):
        raise UnsafeKeepalivedValue(
            f"{what} must be an absolute path of [A-Za-z0-9_./-] characters, got {_show(value)}"
        )
    return text


def checked_address(value: object, what: str) -> IPAddress:
    """``value`` parsed as a unicast IPv4 or IPv6 address (no zone id, no host name)."""
    if not isinstance(value, str) or "%" in value:
        raise UnsafeKeepalivedValue(f"{what} must be an IP address, got {_show(value)}")
    try:
        address = ipaddress.ip_address(value)
    except ValueError as exc:
        raise UnsafeKeepalivedValue(f"{what} must be an IP address, got {_show(value)}") from exc
    if (
        address.is_multicast
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or (address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"))
    ):
        raise UnsafeKeepalivedValue(f"{what} must be a unicast address, got {address}")
    return address


def checked_interface(address: object, subnet: SubnetNode, what: str) -> IPInterface:
    """``address`` with the prefix length of ``subnet`` (which must hold it)."""
    ip = checked_address(address, what)
    cidr = subnet.cidr
    if not isinstance(cidr, str) or "%" in cidr:
        raise UnsafeKeepalivedValue(f"the subnet of {what} has no valid CIDR: {_show(cidr)}")
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise UnsafeKeepalivedValue(
            f"the subnet of {what} has no valid CIDR: {_show(cidr)}"
        ) from exc
    if ip.version != network.version or ip not in network:
        raise UnsafeKeepalivedValue(f"{what} {ip} is not in its subnet {network}")
    return ipaddress.ip_interface(f"{ip}/{network.prefixlen}")


def advert_int(seconds: object) -> str:
    """The advert interval as keepalived reads it (``1``, ``0.5``, ``0.25``): whole
    centiseconds, from 0.01 to 40.95 s."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise UnsafeKeepalivedValue(f"advert interval must be a number, got {_show(seconds)}")
    if not math.isfinite(seconds):
        raise UnsafeKeepalivedValue(f"advert interval must be finite, got {seconds}")
    centiseconds = round(seconds * 100)
    int_in_range(centiseconds, 1, MAX_ADVERT_CENTISECONDS, "advert interval (centiseconds)")
    whole, rest = divmod(centiseconds, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def whole_seconds(seconds: object, what: str) -> int:
    """``seconds`` rounded up to whole seconds, from 1 to :data:`MAX_CHECK_INTERVAL`."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise UnsafeKeepalivedValue(f"{what} must be a number, got {_show(seconds)}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise UnsafeKeepalivedValue(f"{what} must be a positive number, got {seconds}")
    return int_in_range(max(1, math.ceil(seconds)), 1, MAX_CHECK_INTERVAL, f"{what} (s)")


def _address_lines(addresses: Iterable[IPInterface]) -> list[str]:
    return [f"        {address} dev {VRRP_INTERFACE}" for address in addresses]


def render_keepalived_config(
    tree: LoadBalancerTree,
    own: AmphoraNode,
    peer: AmphoraNode | None,
    paths: KeepalivedPaths,
    settings: VrrpSettings,
) -> str:
    """keepalived.conf of copy ``own`` of ``tree``, whose other copy is ``peer`` (None: it runs
    alone). Raises :class:`UnsafeKeepalivedValue` for any value it cannot write as it is."""
    lb_id = checked_id(tree.id, "load balancer id")
    checked_id(own.id, "amphora id")
    vip = checked_interface(tree.vip_address, tree.vip_subnet, "VIP address")
    own_ip = checked_interface(own.vrrp_ip, tree.vip_subnet, "VRRP address").ip
    if own_ip == vip.ip:
        raise UnsafeKeepalivedValue(f"the VRRP address {own_ip} is the VIP")
    if peer is None:
        peer_ip = LONE_PEERS[vip.version]
    else:
        checked_id(peer.id, "peer amphora id")
        if peer.id == own.id:
            raise UnsafeKeepalivedValue(f"amphora {own.id} cannot be its own peer")
        peer_ip = checked_interface(peer.vrrp_ip, tree.vip_subnet, "peer VRRP address").ip
        if peer_ip in (own_ip, vip.ip):
            raise UnsafeKeepalivedValue(
                f"the peer's VRRP address {peer_ip} is this copy's address or the VIP"
            )
    sources = [
        checked_interface(source.address, source.subnet, "source address")
        for source in tree.source_addresses
    ]
    for source in sources:
        if source.version == vip.version:
            raise UnsafeKeepalivedValue(
                f"source address {source.ip} is of the VIP's family (one address per family)"
            )
    if len({source.version for source in sources}) != len(sources):
        raise UnsafeKeepalivedValue("one source address per IP family at most")
    priority = int_in_range(own.vrrp_priority, 1, 254, "VRRP priority")
    vrid = int_in_range(VRRP_ID, 1, 255, "virtual router id")
    interval = whole_seconds(settings.check_interval, "check interval")
    fall = int_in_range(settings.check_fall, 1, MAX_CHECK_COUNT, "check fall")
    rise = int_in_range(settings.check_rise, 1, MAX_CHECK_COUNT, "check rise")
    advert = advert_int(settings.advert_interval)
    check = checked_path(paths.check_script, "check script")
    notify = checked_path(paths.notify_script, "notify script")
    socket = checked_path(paths.haproxy_socket, "haproxy stats socket")
    state = checked_path(paths.state, "VRRP state file")
    instance = "lb_" + lb_id

    lines = [
        f"# keepalived.conf of load balancer {lb_id}, amphora {own.id}: generated by lbaas.",
        "",
        "global_defs {",
        f"    router_id lbaas_{lb_id}",
        "    enable_script_security",
        "    script_user root",
        "    vrrp_version 3",
        "}",
        "",
        f"vrrp_script {CHECK_NAME} {{",
        f'    script "{check} {socket}"',
        f"    interval {interval}",
        f"    timeout {CHECK_TIMEOUT}",
        f"    fall {fall}",
        f"    rise {rise}",
        "}",
        "",
        f"vrrp_instance {instance} {{",
        "    state BACKUP",
        "    nopreempt",
        f"    interface {VRRP_INTERFACE}",
        f"    virtual_router_id {vrid}",
        f"    priority {priority}",
        f"    advert_int {advert}",
        f"    unicast_src_ip {own_ip}",
        "    unicast_peer {",
        f"        {peer_ip}",
        "    }",
        "    check_unicast_src",
        f"    garp_master_repeat {GARP_MASTER_REPEAT}",
        f"    garp_master_delay {GARP_MASTER_DELAY}",
        f"    garp_master_refresh {GARP_REFRESH}",
        f"    garp_master_refresh_repeat {GARP_REFRESH_REPEAT}",
        "    virtual_ipaddress {",
        *_address_lines([vip]),
        "    }",
    ]
    if sources:
        lines += ["    virtual_ipaddress_excluded {", *_address_lines(sources), "    }"]
    lines += [
        "    track_script {",
        f"        {CHECK_NAME}",
        "    }",
        f'    notify "{notify} {state}"',
        "}",
        "",
    ]
    return "\n".join(lines)
