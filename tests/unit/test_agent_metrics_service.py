"""The agent's metrics endpoint (``[agent] metrics_listen``), started by a real
:class:`AgentService` over oslo.messaging's in-process transport with the in-memory device of
``agent_doubles`` (no haproxy: the load balancers' exporters do not answer, ``lbaas_haproxy_up``
says so). Real haproxy behind it: ``tests/e2e/test_agent_metrics.py``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import oslo_messaging as messaging
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lbaas.agent.metrics.collector import MetricsCollector, Target
from lbaas.agent.metrics.counters import AgentMetrics
from lbaas.agent.metrics.endpoint import MetricsEndpoint, parse_listen
from lbaas.agent.metrics.metered_plugin import MeteredPlugin
from lbaas.agent.service import AgentService
from lbaas.core.scrape_token import ScrapeTokenError, create_token_file, load_scrape_token
from lbaas.rpc.topics import PLUGIN_TOPIC
from lbaas.rpc.transport import make_server, make_transport
from tests.unit.agent_doubles import HOST, Device, Server, build_conf, make_tree
from tests.unit.test_agent_manager_service import PluginEndpoint, wait_until


@contextmanager
def running_agent(server: Server, device: Device, listen: str) -> Iterator[AgentService]:
    conf = build_conf(report_interval=0.1, stats_interval=0.2, metrics_listen=listen)
    transport = make_transport(conf)
    plugin_server = make_server(transport, PLUGIN_TOPIC, "server", [PluginEndpoint(server)])
    plugin_server.start()
    service = AgentService(conf, transport, driver=device)
    try:
        service.start()
        yield service
    finally:
        service.stop(timeout=5)
        plugin_server.stop()
        plugin_server.wait()
        transport.cleanup()


def scrape(address: str) -> dict[str, list[Any]]:
    """Every sample by metric name; the whole answer must parse."""
    answer = httpx.get(f"http://{address}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_the_endpoint_serves_every_load_balancer_and_the_agents_health() -> None:
    server, device = Server(), Device()
    server.add(make_tree("lb-ok", name='web "front"\nend'))
    server.add(make_tree("lb-bad"))
    device.errors["lb-bad"] = OSError("the kernel said no")
    with running_agent(server, device, "127.0.0.1:0") as agent:
        assert agent.metrics_address is not None
        assert wait_until(lambda: ("lb-ok", "ACTIVE", 1, None) in server.statuses)

        def deploy_failed() -> bool:
            found = scrape(str(agent.metrics_address))
            return found["lbaas_agent_deploy_failures_total"][0].value >= 1
        assert wait_until(deploy_failed)
        found = scrape(agent.metrics_address)
        assert [s.value for s in found["lbaas_agent_loadbalancers"]] == [1]
        assert [(s.labels, s.value) for s in found["lbaas_loadbalancer_info"]] == [
            ({"loadbalancer_id": "lb-ok", "project_id": "p1", "name": 'web "front"\nend'}, 1)]
        # No haproxy behind the in-memory device: its exporter does not answer.
        assert [(s.labels, s.value) for s in found["lbaas_haproxy_up"]] == [
            ({"loadbalancer_id": "lb-ok", "project_id": "p1"}, 0)]
        assert found["lbaas_agent_last_sync_timestamp_seconds"][0].value > 0
        assert found["lbaas_agent_last_sync_duration_seconds"][0].value > 0
        assert "lbaas_agent_scrape_duration_seconds" in found
        assert "lbaas_agent_reload_duration_seconds_count" in found
        assert httpx.get(f"http://{agent.metrics_address}/other").status_code == 404
    assert agent.metrics_address is None


def test_an_address_in_use_leaves_the_agent_serving_without_metrics() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server, device = Server(), Device()
        server.add(make_tree("lb-1"))
        with running_agent(server, device, f"127.0.0.1:{port}") as agent:
            assert agent.metrics_address is None
            assert wait_until(lambda: ("lb-1", "ACTIVE", 1, None) in server.statuses)


def test_empty_listen_means_no_endpoint() -> None:
    with running_agent(Server(), Device(), "") as agent:
        assert agent.metrics_address is None


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:9917", ("127.0.0.1", 9917)), ("[::1]:0", ("::1", 0)),
    ("0.0.0.0:80", ("0.0.0.0", 80))])
def test_listen_values_are_parsed(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["9917", "host:", ":9917", "host:99999", "host:port"])
def test_bad_listen_values_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="metrics_listen"):
        parse_listen(value)


class Unreachable:
    host = HOST

    def report_state(self, state: dict[str, Any]) -> None:
        raise messaging.MessagingTimeout("no server")

    def loadbalancer_destroyed(self, lb_id: str) -> None:
        raise KeyError(lb_id)  # not an RPC failure: not counted


def test_failed_calls_to_the_server_are_counted_by_method() -> None:
    metrics = AgentMetrics()
    plugin = MeteredPlugin(Unreachable(), metrics)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(messaging.MessagingTimeout):
            plugin.report_state({})
    with pytest.raises(KeyError):
        plugin.loadbalancer_destroyed("lb-1")
    assert metrics.registry.get_sample_value(
        "lbaas_agent_rpc_errors_total", {"method": "report_state"}) == 2
    assert metrics.registry.get_sample_value(
        "lbaas_agent_rpc_errors_total", {"method": "loadbalancer_destroyed"}) is None


def test_a_scrape_arriving_during_another_gets_its_result() -> None:
    first_started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def targets() -> list[Target]:
        calls.append(1)
        if len(calls) == 1:
            first_started.set()
            assert release.wait(5)
        return []

    collector = MetricsCollector(targets, AgentMetrics())
    try:
        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(collector.collect)
            assert first_started.wait(5)
            waiting = [pool.submit(collector.collect) for _ in range(2)]
            # Both are inside collect(), queued behind the first collection.
            assert wait_until(lambda: collector._waiting == 3)
            release.set()
            answers = {first.result(5), *(w.result(5) for w in waiting)}
        assert len(answers) == 1 and len(calls) == 1
        collector.collect()  # a later scrape collects again
        assert len(calls) == 2
    finally:
        collector.close()


def test_the_endpoint_serves_on_ipv6_loopback() -> None:
    endpoint = MetricsEndpoint("[::1]:0", lambda: b"up 1\n")
    endpoint.start()
    try:
        assert endpoint.address is not None and endpoint.address.startswith("[::1]:")
        answer = httpx.get(f"http://{endpoint.address}/metrics", timeout=5)
        assert (answer.status_code, answer.text) == (200, "up 1\n")
    finally:
        endpoint.stop()
    assert endpoint.address is None


def test_with_a_scrape_token_only_its_bearer_reads(tmp_path: Path) -> None:
    token_file = create_token_file(tmp_path / "metrics.token")
    secret = token_file.read_text().strip()
    endpoint = MetricsEndpoint("127.0.0.1:0", lambda: b'up{project_id="p"} 1\n',
                               load_scrape_token(token_file))
    endpoint.start()
    try:
        url = f"http://{endpoint.address}/metrics"
        refused = httpx.get(url, timeout=5)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in refused.text and "[metrics] token_file" in refused.text
        assert "project_id" not in refused.text
        for wrong in (f"Bearer {secret[:-1]}", f"Bearer {secret}x", f"Basic {secret}", secret):
            answer = httpx.get(url, headers={"Authorization": wrong}, timeout=5)
            assert answer.status_code == 401 and "project_id" not in answer.text, wrong
        assert "not the metrics scrape token" in httpx.get(
            url, headers={"Authorization": "Bearer wrong"}, timeout=5).text
        assert httpx.get(url, headers={"X-Auth-Token": secret}, timeout=5).status_code == 401
        answer = httpx.get(url, headers={"Authorization": f"Bearer {secret}"}, timeout=5)
        assert (answer.status_code, answer.text) == (200, 'up{project_id="p"} 1\n')
    finally:
        endpoint.stop()


def test_an_agent_with_an_unusable_token_file_does_not_start(tmp_path: Path) -> None:
    token_file = create_token_file(tmp_path / "metrics.token")
    token_file.chmod(0o644)
    conf = build_conf(metrics_listen="127.0.0.1:0")
    conf.set_override("token_file", str(token_file), group="metrics")
    transport = make_transport(conf)
    try:
        with pytest.raises(ScrapeTokenError, match="chmod 600"):
            AgentService(conf, transport, driver=Device())
    finally:
        transport.cleanup()


def test_a_client_hanging_up_mid_answer_prints_no_traceback(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A scrape that times out closes its connection while a large answer is being written:
    the endpoint notes it at DEBUG and serves the next scrape."""
    endpoint = MetricsEndpoint("127.0.0.1:0", lambda: b"x" * (32 * 1024 * 1024))
    endpoint.start()
    try:
        assert endpoint.address is not None
        host, port = endpoint.address.rsplit(":", 1)
        with caplog.at_level("DEBUG", logger="lbaas.agent.metrics.server_thread"):
            for _ in range(3):
                with socket.create_connection((host, int(port)), timeout=5) as sock:
                    sock.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                    sock.recv(1024)  # the answer started; hang up with the rest unread
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            assert wait_until(lambda: any("hung up" in r.getMessage() for r in caplog.records))
        answer = httpx.get(f"http://{endpoint.address}/metrics", timeout=30)
        assert answer.status_code == 200 and len(answer.content) == 32 * 1024 * 1024
    finally:
        endpoint.stop()
    assert "Traceback" not in capfd.readouterr().err
