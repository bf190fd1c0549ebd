"""Unsolicited neighbour advertisements: the IPv6 counterpart of :mod:`.garp`.

IPv6 has no ARP: neighbours learn a VIP's MAC by neighbour discovery (RFC 4861) and keep it in
their neighbour cache. When a VIP moves to a new MAC (a namespace rebuilt with a new veth), the
interface driver (:mod:`.vip_plug`) sends an unsolicited neighbour advertisement to all nodes
(``ff02::1``) with the Override flag set and the new MAC in a Target Link-Layer Address option
(RFC 4861 section 7.2.6). Linux neighbours then replace the MAC of an entry they already hold and
mark it STALE (to be confirmed on next use); like a gratuitous ARP, an advertisement creates no
entry where there was none.

The frame is built here, checksum included, and written to an AF_PACKET socket inside the
namespace: no raw ICMPv6 socket (which would need the VIP to be usable as a source address
first) and no ``ndisend`` binary.
"""

from __future__ import annotations

import ipaddress
import struct

from lbaas.drivers.interface.garp import mac_bytes, send_frame

ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_ADVERT = 136
ND_OPT_TARGET_LINKADDR = 2
NA_FLAG_OVERRIDE = 0x20000000
HOP_LIMIT = 255  # RFC 4861: receivers drop neighbour discovery with any other hop limit
ALL_NODES = ipaddress.IPv6Address("ff02::1")
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"  # 33:33 + low 32 bits of ff02::1


def icmpv6_checksum(source: bytes, destination: bytes, message: bytes) -> int:
    """The ICMPv6 checksum of ``message`` (its checksum field zero) between the two 16-byte
    addresses: the one's complement of the one's complement sum over the IPv6 pseudo-header
    (RFC 8200 section 8.1) and the message."""
    pseudo = source + destination + struct.pack("!I3xB", len(message), IPPROTO_ICMPV6)
    data = pseudo + message
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_unsolicited_na_frame(mac: str, address: str) -> bytes:
    """The Ethernet frame of an unsolicited neighbour advertisement from ``mac`` for IPv6
    ``address``: to all nodes, Override set, Solicited clear, the MAC as target link-layer
    address. Raises ValueError for a malformed MAC or a non-IPv6 address."""
    hw = mac_bytes(mac)
    if "%" in address:
        raise ValueError(f"a VIP has no zone id: {address!r}")
    target = ipaddress.IPv6Address(address).packed
    option = struct.pack("!BB", ND_OPT_TARGET_LINKADDR, 1) + hw  # length in units of 8 bytes
    body = struct.pack("!I", NA_FLAG_OVERRIDE) + target + option
    unsummed = struct.pack("!BBH", ND_NEIGHBOR_ADVERT, 0, 0) + body
    checksum = icmpv6_checksum(target, ALL_NODES.packed, unsummed)
    message = struct.pack("!BBH", ND_NEIGHBOR_ADVERT, 0, checksum) + body
    ipv6 = struct.pack("!IHBB", 6 << 28, len(message), IPPROTO_ICMPV6, HOP_LIMIT)
    ipv6 += target + ALL_NODES.packed
    ethernet = ALL_NODES_MAC + hw + struct.pack("!H", ETH_P_IPV6)
    return ethernet + ipv6 + message


def send_unsolicited_na(
    namespace: str | None,
    ifname: str,
    mac: str,
    address: str,
    count: int = 1,
    interval: float = 0.2,
) -> None:
    """Send ``count`` unsolicited neighbour advertisements for ``address`` out of ``ifname``
    in ``namespace`` (None: here).

    Raises OSError when the interface is missing or down.
    """
    send_frame(namespace, ifname, build_unsolicited_na_frame(mac, address), ETH_P_IPV6, count,
               interval)
