"""Gratuitous ARP: tell the L2 segment which MAC now owns an IPv4 address.

Called by the interface driver (:mod:`.vip_plug`) after it plugs a VIP. A namespace recreated
with a new veth MAC is black-holed by its neighbours' stale ARP entries (the VIP's old MAC) until
they hear this. The frame is an unsolicited ARP *request* with sender = target = the address, the
form ``arping -U`` sends and Linux accepts to override an existing neighbour entry even inside its
locktime. It is written to an AF_PACKET socket opened inside the namespace, so no ``arping``
binary or subprocess is needed.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time

from lbaas.drivers.interface.namespaces import run_in_namespace

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
BROADCAST_MAC = b"\xff" * 6
MIN_FRAME = 60  # Ethernet minimum without FCS


def mac_bytes(mac: str) -> bytes:
    """``"aa:bb:cc:dd:ee:ff"`` -> 6 bytes."""
    parts = mac.split(":")
    if len(parts) != 6:
        raise ValueError(f"invalid MAC address {mac!r}")
    return bytes(int(part, 16) for part in parts)


def build_garp_frame(mac: str, address: str) -> bytes:
    """The Ethernet frame of a gratuitous ARP request from ``mac`` for IPv4 ``address``."""
    sender_hw = mac_bytes(mac)
    ip = ipaddress.IPv4Address(address).packed
    ethernet = BROADCAST_MAC + sender_hw + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST)
    arp += sender_hw + ip + b"\x00" * 6 + ip
    return (ethernet + arp).ljust(MIN_FRAME, b"\x00")


def send_frame(namespace: str | None, ifname: str, frame: bytes, ethertype: int, count: int,
               interval: float) -> None:
    """Write the Ethernet ``frame`` (of ``ethertype``) ``count`` times out of ``ifname`` in
    ``namespace`` (None: here); also used for IPv6 neighbour advertisements (:mod:`.ndisc`)."""
    if namespace is None:
        _write_frame(ifname, frame, ethertype, count, interval)
    else:
        run_in_namespace(namespace, _write_frame, ifname, frame, ethertype, count, interval)


def _write_frame(ifname: str, frame: bytes, ethertype: int, count: int, interval: float) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype)) as sock:
        sock.bind((ifname, ethertype))
        for i in range(count):
            if i:
                time.sleep(interval)
            sock.send(frame)


def send_gratuitous_arp(
    namespace: str | None,
    ifname: str,
    mac: str,
    address: str,
    count: int = 1,
    interval: float = 0.2,
) -> None:
    """Send ``count`` gratuitous ARPs for ``address`` out of ``ifname`` in ``namespace``.

    Raises OSError when the interface is missing or down.
    """
    send_frame(namespace, ifname, build_garp_frame(mac, address), ETH_P_ARP, count, interval)
