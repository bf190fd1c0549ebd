"""The agent's PROMETHEUS listener service on its real UNIX socket, without haproxy
(:mod:`lbaas.agent.metrics.prometheus_listener`): permissions, and the answers that need no
exporter.
Its answers with an exporter behind are shown end to end in tests/e2e/test_prometheus_listener.py.
"""

from __future__ import annotations

import http.client
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lbaas.agent.metrics.prometheus_listener import PrometheusListenerService

LB_ID = "4e1b7f3a-0000-4000-8000-00000000000a"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("haproxy", timeout=5)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(str(self.path))


def ask(service: PrometheusListenerService, method: str, path: str) -> int:
    connection = UnixConnection(service.socket_path)
    try:
        connection.request(method, path)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PrometheusListenerService]:
    running = PrometheusListenerService(tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_socket_is_private(service: PrometheusListenerService) -> None:
    assert stat.S_IMODE(os.stat(service.socket_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(service.socket_path.parent).st_mode) == 0o700


def test_a_load_balancer_not_here_is_404(service: PrometheusListenerService) -> None:
    assert ask(service, "GET", f"/loadbalancers/{LB_ID}") == 404
    assert ask(service, "GET", "/metrics") == 404
    assert ask(service, "GET", "/loadbalancers/../etc") == 404


def test_a_load_balancer_whose_haproxy_does_not_answer_is_502(
        service: PrometheusListenerService, tmp_path: Path) -> None:
    (tmp_path / "lbaas" / LB_ID).mkdir(parents=True)
    assert ask(service, "GET", f"/loadbalancers/{LB_ID}?x=1") == 502


def test_other_methods_are_501(service: PrometheusListenerService) -> None:
    assert ask(service, "POST", f"/loadbalancers/{LB_ID}") == 501
    assert ask(service, "DELETE", f"/loadbalancers/{LB_ID}") == 501


def test_stop_removes_the_socket_and_start_replaces_a_stale_one(tmp_path: Path) -> None:
    first = PrometheusListenerService(tmp_path)
    first.start()
    first.stop()
    assert not first.socket_path.exists()
    first.socket_path.touch()  # left behind by an agent that died
    second = PrometheusListenerService(tmp_path)
    second.start()
    try:
        assert ask(second, "GET", "/metrics") == 404
    finally:
        second.stop()
