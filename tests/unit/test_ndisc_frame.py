"""The unsolicited neighbour advertisement frame (lbaas.drivers.interface.ndisc) field by field;
tests/e2e/test_ipv6_vip_plug.py shows a real kernel accepting it."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from lbaas.drivers.interface.ndisc import build_unsolicited_na_frame, icmpv6_checksum

MAC = "02:00:fd:00:00:0a"
VIP = "fd00:10:20::10"


def test_frame_layout() -> None:
    frame = build_unsolicited_na_frame(MAC, VIP)
    eth, ip6, icmp = frame[:14], frame[14:54], frame[54:]
    assert len(frame) == 14 + 40 + 32
    assert eth == bytes.fromhex("333300000001" "0200fd00000a" "86dd")
    version_flow, payload, next_header, hop_limit = struct.unpack("!IHBB", ip6[:8])
    assert (version_flow >> 28, payload, next_header, hop_limit) == (6, 32, 58, 255)
    assert ipaddress.IPv6Address(ip6[8:24]) == ipaddress.IPv6Address(VIP)  # source: the VIP
    assert ipaddress.IPv6Address(ip6[24:40]) == ipaddress.IPv6Address("ff02::1")
    kind, code, _checksum, flags = struct.unpack("!BBHI", icmp[:8])
    assert (kind, code) == (136, 0)
    assert flags == 0x20000000  # Override only: not a router, not solicited
    assert ipaddress.IPv6Address(icmp[8:24]) == ipaddress.IPv6Address(VIP)  # the target
    assert icmp[24:] == bytes.fromhex("0201" "0200fd00000a")  # target link-layer address


def test_checksum_verifies() -> None:
    """Summing the message with its checksum over the pseudo-header gives 0xffff, i.e. a
    recomputed checksum of zero."""
    frame = build_unsolicited_na_frame(MAC, VIP)
    src, dst, icmp = frame[22:38], frame[38:54], frame[54:]
    assert icmpv6_checksum(src, dst, icmp) == 0
    assert struct.unpack("!H", icmp[2:4])[0] != 0


def test_checksum_of_a_known_message() -> None:
    """An echo request ``::1 -> ::1``, id 0, seq 0, no data: type 128 alone plus the pseudo
    header (length 8, next header 58) and both ::1, computed by hand."""
    loopback = ipaddress.IPv6Address("::1").packed
    message = bytes([128, 0, 0, 0, 0, 0, 0, 0])
    # 0x0001 + 0x0001 (addresses) + 0x0008 (length) + 0x003a (next header) + 0x8000 (type)
    assert icmpv6_checksum(loopback, loopback, message) == ~(0x8000 + 0x44) & 0xFFFF


@pytest.mark.parametrize("mac,address", [
    ("02:00:fd:00:00", VIP),
    (MAC, "10.0.0.1"),
    (MAC, "fd00::1%eth0"),
    (MAC, "not an address"),
])
def test_malformed_arguments_raise(mac: str, address: str) -> None:
    with pytest.raises(ValueError):
        build_unsolicited_na_frame(mac, address)
