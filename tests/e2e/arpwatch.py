"""Who answers ARP for an address, and from which MAC: the witness of "no duplicate VIP".

An :class:`ArpWatch` writes an ARP probe for each watched IPv4 address onto a bridge of the root
namespace every ``interval`` seconds and records, on a packet socket bound to the same bridge,
every ARP reply about those addresses with the MAC that sent it. Two MACs answering for one
VIP in the same window is the duplicate address the node-loss tests must never see. Used as a
context manager around the moment a lost node comes back (``tests/e2e/test_node_loss.py``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import threading
import time
from collections import defaultdict

from lbaas.drivers.interface.garp import ETH_P_ARP
from lbaas.drivers.interface.probe import arp_reply_sender, bridge_mac, build_arp_probe


class ArpWatch:
    """Probe ``addresses`` on ``bridge`` and record which MACs answer for each."""

    def __init__(self, bridge: str, addresses: list[str], interval: float = 0.1) -> None:
        self.bridge = bridge
        self.addresses = [ipaddress.IPv4Address(a) for a in addresses]
        self.interval = interval
        self.replies: dict[str, set[str]] = defaultdict(set)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> ArpWatch:
        mac = bridge_mac(self.bridge)
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        self._sock.bind((self.bridge, ETH_P_ARP))
        self._frames = [build_arp_probe(mac, address) for address in self.addresses]
        self._thread = threading.Thread(target=self._run, name="arpwatch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._sock.close()

    def macs(self, address: str) -> set[str]:
        """The MACs that answered for ``address`` so far."""
        with self._lock:
            return set(self.replies.get(address, set()))

    def _run(self) -> None:
        next_probe = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_probe:
                for frame in self._frames:
                    with contextlib.suppress(OSError):  # a flapping bridge: next round
                        self._sock.send(frame)
                next_probe = now + self.interval
            readable, _, _ = select.select([self._sock], [], [], self.interval / 2)
            if readable:
                self._record(self._sock.recv(2048))

    def _record(self, frame: bytes) -> None:
        sender_ip = arp_reply_sender(frame)
        if sender_ip is None:
            return
        sender_mac = ":".join(f"{b:02x}" for b in frame[22:28])
        with self._lock:
            self.replies[str(sender_ip)].add(sender_mac)
