"""haproxy's log ring against a stalled agent: requests are served all the same (the ring drops
lines rather than wait), and once the agent reads again the lines flow and haproxy's count of
the dropped ones reaches it. The ring itself: :mod:`lbaas.drivers.haproxy.logs`."""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from lbaas.agent.access_logs import holder
from lbaas.agent.access_logs.receiver import AccessLogService
from lbaas.drivers.haproxy.state_paths import StatePaths
from tests.e2e.stack import Stack, eventually
from tests.e2e.test_access_logs import VIP, access_lines
from tests.e2e.traffic import create_lb
from tests.e2e.traffic_clients import fetch

REQUESTS = 6000  # ~2 MB of lines: far more than the ring (512 KiB) and the socket buffer hold


def keep_alive_statuses(host: str, port: int, count: int) -> dict[int, int]:
    """``count`` GETs over keep-alive connections: how many of each status came back."""
    statuses: dict[int, int] = {}
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for n in range(count):
            conn.request("GET", f"/stalled-{n}")
            response = conn.getresponse()
            response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.will_close:
                conn.close()
    finally:
        conn.close()
    return statuses


@contextlib.contextmanager
def stalled_listener(path: Path) -> Iterator[None]:
    """A listener on the agent's socket that never accepts nor reads: haproxy's connection
    is queued and its writes fill the socket buffer, then stay in its ring."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(8)
        yield
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def logging_load_balancer(stack: Stack) -> tuple[Any, dict[str, Any], AccessLogService]:
    """A client, and a load balancer whose first request is logged. No pool: haproxy answers
    503 itself, quickly, and logs each request."""
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{"protocol": "HTTP", "protocol_port": 80}]})
    service = stack.agent.access_logs
    assert service is not None
    assert client.call(fetch, VIP, 80, "/before").status == 503
    eventually(lambda: len(access_lines(stack, lb["id"])) == 1, timeout=20)
    return client, lb, service


def test_a_stalled_agent_never_blocks_haproxy(stack: Stack) -> None:
    client, lb, service = logging_load_balancer(stack)

    service.stop()  # its connection closes: haproxy connects again, to the stalled listener
    with stalled_listener(service.access_socket_path):
        assert client.call(fetch, VIP, 80, "/first-while-stalled").status == 503
        assert client.call(keep_alive_statuses, VIP, 80, REQUESTS) == {503: REQUESTS}

    service.start()
    assert client.call(fetch, VIP, 80, "/after").status == 503
    eventually(lambda: service.counters.dropped > 0 and any(
        line["http_path"] == "/after" for line in access_lines(stack, lb["id"])), timeout=30)
    written = len(access_lines(stack, lb["id"]))
    # no line twice; what sat in the stalled socket's buffer is lost with it, uncounted
    assert written + service.counters.dropped <= REQUESTS + 3
    assert service.counters.dropped < REQUESTS


def haproxy_cpu_seconds(config: Path) -> float:
    """CPU time (user + system) used so far by the haproxy processes running ``config``."""
    total = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        if str(config) in (proc.info["cmdline"] or []):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


def test_a_crashed_agent_leaves_haproxy_waiting_not_spinning(stack: Stack) -> None:
    """haproxy 2.6 reconnects a ring's server without pause when no one listens (a core at
    100 %); the holder keeps the sockets listening after the agent's death instead."""
    client, lb, service = logging_load_balancer(stack)
    config = StatePaths.for_load_balancer(stack.conf.state_path, lb["id"]).config
    record = holder.holder_file(stack.conf.state_path)

    service.stop(release=False)  # as if killed: the holder keeps the sockets listening
    try:
        assert client.call(fetch, VIP, 80, "/while-crashed").status == 503
        before = haproxy_cpu_seconds(config)
        time.sleep(3)
        spent = haproxy_cpu_seconds(config) - before
        assert spent < 0.5, f"haproxy used {spent:.2f} s of CPU in 3 s with the agent gone"
        held_by = int(record.read_text().split()[0])
        assert psutil.pid_exists(held_by)
    finally:
        service.start()  # takes over: the old holder goes, haproxy connects to the new sockets
    assert not psutil.pid_exists(held_by) and int(record.read_text().split()[0]) != held_by
    assert client.call(fetch, VIP, 80, "/after").status == 503
    eventually(lambda: any(line["http_path"] == "/after"
                           for line in access_lines(stack, lb["id"])), timeout=30)
