"""Forwarding access lines to central syslog collectors (RFC 5424 over UDP or TCP).

As Octavia's log offloading: each JSON access line becomes the message of one RFC 5424 syslog
message (``<PRI>1 TIME HOST <lb_id> - access - <json>``: the app name is the load balancer id,
as haproxy's tag, the message id ``access``), sent to every ``[access_log] syslog_targets``.
Over TCP messages are framed by octet counting (RFC 6587).

The receiver only puts lines into a bounded queue (:meth:`SyslogForwarder.submit` never
blocks); one thread sends them. A full queue drops the new line and counts it; a collector that
cannot be reached costs each line one failed attempt (TCP: reconnection at most every
:data:`RECONNECT_DELAY` seconds, lines dropped meanwhile) and is counted, never retried: the
agent and haproxy never wait for a collector.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

LOG = logging.getLogger(__name__)

FACILITIES = {"user": 1, "daemon": 3, **{f"local{n}": 16 + n for n in range(8)}}
SEVERITY_INFO = 6
APP_NAME = "lbaas-access"  # when the load balancer id cannot be an APP-NAME (48 characters)
MSGID = "access"
CONNECT_TIMEOUT = 2.0
SEND_TIMEOUT = 2.0
RECONNECT_DELAY = 5.0


def parse_target(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); ValueError with the reason."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"[access_log] syslog_targets: {text!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def format_message(line: str, lb_id: str, facility: int, hostname: str,
                   moment: datetime | None = None) -> bytes:
    """One RFC 5424 message carrying ``line``; header fields are printable ASCII."""
    stamp = (moment or datetime.now(UTC)).isoformat(timespec="microseconds")
    stamp = stamp.replace("+00:00", "Z")
    app = _header_field(lb_id, 48)
    header = (f"<{facility * 8 + SEVERITY_INFO}>1 {stamp} {_header_field(hostname, 255)} "
              f"{APP_NAME if app == '-' else app} - {MSGID} - ")
    return header.encode("ascii") + line.encode("utf-8")


def _header_field(value: str, limit: int) -> str:
    """RFC 5424 header fields are 1-``limit`` printable ASCII characters, else ``-``."""
    if not value or len(value) > limit or not all("!" <= c <= "~" for c in value):
        return "-"
    return value


@dataclass
class ForwarderCounters:
    sent: int = 0
    dropped: int = 0  # the queue was full
    failed: int = 0  # a collector could not be reached or refused the line


class SyslogForwarder:
    """Sends access lines to the syslog targets from a thread of its own."""

    def __init__(self, targets: list[str], protocol: str, facility: str, queue_size: int,
                 hostname: str) -> None:
        self.targets = [parse_target(target) for target in targets]
        if protocol not in ("udp", "tcp"):
            raise ValueError(f"[access_log] syslog_protocol: unknown protocol {protocol!r}")
        if facility not in FACILITIES:
            raise ValueError(f"[access_log] syslog_facility: unknown facility {facility!r}")
        self.protocol = protocol
        self.facility = FACILITIES[facility]
        self.hostname = hostname
        self.counters = ForwarderCounters()
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(queue_size)
        self._tcp: dict[tuple[str, int], socket.socket] = {}
        self._retry_at: dict[tuple[str, int], float] = {}
        self._udp: socket.socket | None = None
        self._udp_addresses: dict[tuple[str, int], tuple[str, int]] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lbaas-access-forward",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):  # else the daemon thread ends with the process
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        self._thread = None
        for sock in [*self._tcp.values(), *([self._udp] if self._udp else [])]:
            sock.close()
        self._tcp.clear()

    def submit(self, lb_id: str, line: str) -> None:
        """Queue ``line`` for every target; never blocks (a full queue drops and counts it)."""
        try:
            self._queue.put_nowait((lb_id, line))
        except queue.Full:
            self.counters.dropped += 1
            if self.counters.dropped in (1, 10, 100) or self.counters.dropped % 10000 == 0:
                LOG.warning("access log forwarding is behind: %d lines dropped so far",
                            self.counters.dropped)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            lb_id, line = item
            message = format_message(line, lb_id, self.facility, self.hostname)
            for target in self.targets:
                if self._send(target, message):
                    self.counters.sent += 1
                else:
                    self.counters.failed += 1

    def _send(self, target: tuple[str, int], message: bytes) -> bool:
        try:
            if self.protocol == "udp":
                if self._udp is None:
                    self._udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                    self._udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                address = self._udp_addresses.get(target)
                if address is None:
                    address = self._udp_addresses[target] = _udp_address(target)
                self._udp.sendto(message, address)
                return True
            sock = self._tcp.get(target) or self._connect(target)
            if sock is None:
                return False
            sock.sendall(b"%d " % len(message) + message)
            return True
        except OSError as exc:
            self._lost(target, exc)
            return False

    def _connect(self, target: tuple[str, int]) -> socket.socket | None:
        if time.monotonic() < self._retry_at.get(target, 0.0):
            return None
        try:
            sock = socket.create_connection(target, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            self._lost(target, exc)
            return None
        sock.settimeout(SEND_TIMEOUT)
        self._tcp[target] = sock
        LOG.info("forwarding access logs to %s:%d over TCP", *target)
        return sock

    def _lost(self, target: tuple[str, int], exc: OSError) -> None:
        sock = self._tcp.pop(target, None)
        if sock is not None:
            sock.close()
        if time.monotonic() >= self._retry_at.get(target, 0.0):
            LOG.warning("cannot forward access logs to %s:%d (%s): dropping lines, retrying in "
                        "%.0fs", *target, exc, RECONNECT_DELAY)
        self._retry_at[target] = time.monotonic() + RECONNECT_DELAY


def _udp_address(target: tuple[str, int]) -> tuple[str, int]:
    """An IPv4 target as a v4-mapped address of the one dual-stack UDP socket."""
    host, port = target
    info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    address = str(info[4][0])
    return (f"::ffff:{address}" if info[0] == socket.AF_INET else address), port
