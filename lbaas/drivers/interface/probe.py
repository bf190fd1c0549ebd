"""Who answers for an address on a bridge: the evidence the server needs before it moves a VIP.

Housekeeping asks a live agent (:meth:`lbaas.agent.manager.AgentManager.probe_addresses`)
whether the VIPs of a dead agent's load balancers still answer on their network, because moving
a VIP whose old copy still holds it would put the address on the wire twice. The agent writes
duplicate-address probes onto the bridge that carries the network, from the bridge's own MAC:

* IPv4: an ARP probe (RFC 5227: sender address 0.0.0.0), which every holder of the address
  answers with a reply to the probe's MAC, and which changes nobody's ARP cache;
* IPv6: a neighbour solicitation from the unspecified address (RFC 4862 duplicate address
  detection) to the address's solicited-node group; a holder answers with an advertisement to
  all nodes.

The replies reach the bridge's own port, where an AF_PACKET socket bound to the bridge reads
them. Probes are repeated ``tries`` times within ``wait`` seconds, so one lost frame is not
taken for an absent holder. A holder on this very host (a copy on this agent's bridge) answers
too, as it should.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import struct
import time
from collections.abc import Iterable

from lbaas.drivers.interface.garp import (
    ARPHRD_ETHER,
    BROADCAST_MAC,
    ETH_P_ARP,
    ETH_P_IP,
    MIN_FRAME,
    mac_bytes,
)
from lbaas.drivers.interface.links import get_link
from lbaas.drivers.interface.namespaces import iproute
from lbaas.drivers.interface.ndisc import (
    ETH_P_IPV6,
    HOP_LIMIT,
    IPPROTO_ICMPV6,
    icmpv6_checksum,
)

ARPOP_REQUEST = 1
ARPOP_REPLY = 2
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
UNSPECIFIED = ipaddress.IPv6Address("::").packed


def build_arp_probe(mac: bytes, address: ipaddress.IPv4Address) -> bytes:
    """An ARP probe from ``mac`` for ``address`` (sender address 0.0.0.0, RFC 5227)."""
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST)
    arp += mac + b"\x00" * 4 + b"\x00" * 6 + address.packed
    return (ethernet + arp).ljust(MIN_FRAME, b"\x00")


def solicited_node(address: ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    """The solicited-node multicast group of ``address``: ``ff02::1:ff00:0/104`` with the
    address's last 24 bits (RFC 4291 section 2.7.1)."""
    return ipaddress.IPv6Address(b"\xff\x02" + b"\x00" * 9 + b"\x01\xff" + address.packed[13:])


def build_dad_solicitation(mac: bytes, address: ipaddress.IPv6Address) -> bytes:
    """A neighbour solicitation from ``::`` for ``address`` (duplicate address detection,
    RFC 4862 section 5.4.2: no source link-layer option)."""
    group = solicited_node(address)
    unsummed = struct.pack("!BBHI", ND_NEIGHBOR_SOLICIT, 0, 0, 0) + address.packed
    checksum = icmpv6_checksum(UNSPECIFIED, group.packed, unsummed)
    message = struct.pack("!BBHI", ND_NEIGHBOR_SOLICIT, 0, checksum, 0) + address.packed
    ipv6 = struct.pack("!IHBB", 6 << 28, len(message), IPPROTO_ICMPV6, HOP_LIMIT)
    ipv6 += UNSPECIFIED + group.packed
    ethernet = b"\x33\x33" + group.packed[12:] + mac + struct.pack("!H", ETH_P_IPV6)
    return ethernet + ipv6 + message


def arp_reply_sender(frame: bytes) -> ipaddress.IPv4Address | None:
    """The sender address of an ARP reply frame, None for any other frame."""
    if len(frame) < 42 or frame[12:14] != struct.pack("!H", ETH_P_ARP):
        return None
    if struct.unpack("!H", frame[20:22])[0] != ARPOP_REPLY:
        return None
    return ipaddress.IPv4Address(frame[28:32])


def advertised_target(frame: bytes) -> ipaddress.IPv6Address | None:
    """The target of a neighbour advertisement frame, None for any other frame."""
    if len(frame) < 78 or frame[12:14] != struct.pack("!H", ETH_P_IPV6):
        return None
    if frame[20] != IPPROTO_ICMPV6 or frame[54] != ND_NEIGHBOR_ADVERT:
        return None
    return ipaddress.IPv6Address(frame[62:78])


def bridge_mac(bridge: str) -> bytes:
    """The MAC of ``bridge`` in this network namespace (read by netlink: ``/sys`` may show
    another namespace's links)."""
    with iproute() as ipr:
        link = get_link(ipr, bridge)
        if link is None:
            raise OSError(f"no bridge {bridge!r} on this host")
        return mac_bytes(str(link.get_attr("IFLA_ADDRESS")))


def answering(bridge: str, addresses: Iterable[str], wait: float = 1.0, tries: int = 3
              ) -> set[str]:
    """Which of ``addresses`` some host on ``bridge`` answers for, within ``wait`` seconds.

    Raises OSError when the bridge is missing or down.
    """
    wanted = {ipaddress.ip_address(a): a for a in addresses}
    if not wanted:
        return set()
    mac = bridge_mac(bridge)
    frames = [(build_arp_probe(mac, ip) if ip.version == 4
               else build_dad_solicitation(mac, ip), ip.version) for ip in wanted]
    socks = {4: _packet_socket(bridge, ETH_P_ARP), 6: _packet_socket(bridge, ETH_P_IPV6)}
    found: set[str] = set()
    try:
        deadline = time.monotonic() + wait
        gap = wait / tries
        next_send = time.monotonic()
        while len(found) < len(wanted):
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_send:
                for frame, version in frames:
                    socks[version].send(frame)
                next_send = now + gap
            timeout = max(0.0, min(deadline, next_send) - time.monotonic())
            readable, _, _ = select.select(list(socks.values()), [], [], timeout)
            for sock in readable:
                heard = _read(sock)
                if heard in wanted:
                    found.add(wanted[heard])
    finally:
        for sock in socks.values():
            sock.close()
    return found


def _packet_socket(bridge: str, ethertype: int) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    try:
        sock.bind((bridge, ethertype))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _read(sock: socket.socket) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        frame = sock.recv(2048)
    except BlockingIOError:
        return None
    return arp_reply_sender(frame) or advertised_target(frame)
