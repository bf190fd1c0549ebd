"""Access lines forwarded to a real rsyslog (Debian's rsyslogd, started with its own config) over
TCP and UDP: they arrive, rsyslog parses them as RFC 5424, and they carry the JSON line. A
collector that is gone costs nothing: traffic and the local files go on, the losses are
counted."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.e2e.stack import eventually, running_stack
from tests.e2e.test_access_logs import VIP, access_lines
from tests.e2e.traffic import create_lb, member
from tests.e2e.traffic_backends import backend
from tests.e2e.traffic_clients import fetch
from tests.rsyslog_server import free_port, rsyslog


def _one_listener_lb(stack) -> dict:  # type: ignore[no-untyped-def]
    backend(stack, "weba", 11)
    return create_lb(stack, {"listeners": [{"protocol": "HTTP", "protocol_port": 80,
                                            "default_pool": {
                                                "protocol": "HTTP",
                                                "lb_algorithm": "ROUND_ROBIN",
                                                "members": [member("weba", 11)]}}]})


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_lines_reach_rsyslog(tmp_path: Path, protocol: str) -> None:
    with rsyslog(tmp_path / "rsyslog") as collector:
        port = collector.tcp_port if protocol == "tcp" else collector.udp_port
        overrides = {"access_log": {"syslog_targets": [f"127.0.0.1:{port}"],
                                    "syslog_protocol": protocol,
                                    "syslog_facility": "local4"}}
        with running_stack(tmp_path / "stack", overrides) as stack:
            lb = _one_listener_lb(stack)
            client = stack.client()
            paths = [f"/{protocol}-{n}" for n in range(3)]
            for path in paths:
                assert client.call(fetch, VIP, 80, path).status == 200
            eventually(lambda: len(collector.messages()) >= 3, timeout=20)
            local = access_lines(stack, lb["id"])
        received = collector.messages()
    assert len(received) == 3
    for message in received:
        assert (message.version, message.app_name, message.msgid) == ("1", lb["id"], "access")
        assert (message.facility, message.severity) == ("local4", "info")
    documents = [json.loads(message.msg) for message in received]
    assert sorted(doc["http_path"] for doc in documents) == paths
    assert documents == local  # the same lines as the local file
    assert {doc["loadbalancer_id"] for doc in documents} == {lb["id"]}


def test_a_lost_collector_never_blocks(tmp_path: Path) -> None:
    closed = free_port(socket.SOCK_STREAM)  # nothing listens there
    overrides = {"access_log": {"syslog_targets": [f"127.0.0.1:{closed}"],
                                "syslog_protocol": "tcp", "syslog_queue_size": 2}}
    with running_stack(tmp_path / "stack", overrides) as stack:
        lb = _one_listener_lb(stack)
        client = stack.client()
        for n in range(20):
            assert client.call(fetch, VIP, 80, f"/p{n}").status == 200
        eventually(lambda: len(access_lines(stack, lb["id"])) == 20, timeout=20)
        service = stack.agent.access_logs
        assert service is not None and service.forwarder is not None
        counters = service.forwarder.counters
        eventually(lambda: counters.failed + counters.dropped == 20, timeout=20)
        assert counters.sent == 0
        assert stack.agent.manager.driver.is_healthy(lb["id"])
