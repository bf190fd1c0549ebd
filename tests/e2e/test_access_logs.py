"""Tenant access logs by traffic: requests through a real load balancer become JSON lines in its
access log (status, member, the request id the member received), a TCP listener logs TCP lines,
an opted-out listener logs nothing, hostile requests still give valid JSON, a TERMINATED_HTTPS
listener logs the client certificate's verification and DN, and a member going DOWN reaches the
``lbaas.admin`` log. Forwarding to a real rsyslog:
``test_access_log_forwarding.py``."""

from __future__ import annotations

import base64
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lbaas.drivers.haproxy import logs
from tests.e2e.stack import Stack, eventually
from tests.e2e.tls_clients import client_cert_options, curl
from tests.e2e.traffic import FAST_HTTP_MONITOR, create_lb, listener_ids, member, pool_ids
from tests.e2e.traffic_backends import backend
from tests.e2e.traffic_clients import fetch, tcp_exchange
from tests.tls_material import Authority

VIP = "10.241.0.100"
HOSTILE_REQUESTS = [
    b'GET /a"b\\c%00%ff HTTP/1.1\r\nHost: x\r\n\r\n',
    b"GET /\xc3\xa9\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /\x01\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n",
    b'\x00\xff"}{\\ \r\n\r\n',
    b"PO\"ST / HTTP/1.1\r\nHost: x\r\n\r\n",
]


def access_lines(stack: Stack, lb_id: str) -> list[dict[str, Any]]:
    """The JSON lines of ``lb_id``'s access log (every line must be ASCII JSON)."""
    path = Path(stack.conf.access_log.directory) / lb_id / "access.log"
    if not path.exists():
        return []
    raw = path.read_bytes()
    assert raw.isascii()
    return [json.loads(line) for line in raw.decode().splitlines()]


def by_listener(lines: list[dict[str, Any]], listener_id: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["listener_id"] == listener_id]


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def admin_log() -> Iterator[Captured]:
    handler = Captured()
    logger = logging.getLogger("lbaas.admin")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_requests_become_json_lines(stack: Stack) -> None:
    web_a = backend(stack, "weba", 11)
    web_b = backend(stack, "webb", 12)
    echo = backend(stack, "echo", 13, port=None).serve(7000, mode="echo")
    client = stack.client()
    pool = {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member("weba", 11), member("webb", 12)]}
    lb = create_lb(stack, {"listeners": [
        {"protocol": "HTTP", "protocol_port": 80, "default_pool": pool},
        {"protocol": "TCP", "protocol_port": 81, "default_pool": {
            "name": "echo", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member("echo", 13, 7000)]}},
        {"protocol": "HTTP", "protocol_port": 82, "lbaas:access_log": False,
         "default_pool": {"name": "quiet", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                          "members": [member("weba", 11)]}},
    ]})
    listeners = listener_ids(stack, lb)
    pools = pool_ids(stack, lb)
    members = {m["name"]: m["id"] for m in stack.api.member.get(
        f"/pools/{pools['web']}/members").json()["members"]}

    replies = [client.call(fetch, VIP, 80, f"/page-{n}?secret=s{n}") for n in range(4)]
    assert [reply.status for reply in replies] == [200] * 4
    assert client.call(tcp_exchange, VIP, 81, b"ping-tcp").endswith(b"ping-tcp")
    assert client.call(fetch, VIP, 82, "/not-logged").status == 200

    eventually(lambda: len(access_lines(stack, lb["id"])) >= 5, timeout=20)
    lines = access_lines(stack, lb["id"])
    http = by_listener(lines, listeners[80])
    assert len(http) == 4
    received = {reply.json()["path"]: reply.json() for reply in replies}
    for line in http:
        seen = received[line["http_path"] + "?secret=s" + line["http_path"][-1]]
        assert line["request_id"] == seen["headers"][logs.REQUEST_ID_HEADER.lower()]
        assert line["member_id"] == members[seen["name"]]
        assert (line["http_status"], line["http_method"], line["protocol"]) == (200, "GET",
                                                                               "http")
        assert line["pool_id"] == pools["web"]
        assert line["loadbalancer_id"] == lb["id"]
        assert line["project_id"] == lb["project_id"]
        assert line["client_address"] == client.address
        assert line["bytes_out"] > 0 and line["termination_state"] == "----"
        assert "secret" not in json.dumps(line)  # the query string is not logged
    assert len({line["request_id"] for line in http}) == 4
    tcp = by_listener(lines, listeners[81])
    assert len(tcp) == 1
    assert tcp[0]["protocol"] == "tcp" and tcp[0]["bytes_in"] == len(b"ping-tcp")
    assert tcp[0]["pool_id"] == pools["echo"] and "http_status" not in tcp[0]
    assert by_listener(lines, listeners[82]) == []  # opted out
    quiet = client.call(fetch, VIP, 82, "/again").json()
    assert logs.REQUEST_ID_HEADER.lower() not in quiet["headers"]

    for request in HOSTILE_REQUESTS:
        client.call(tcp_exchange, VIP, 80, request, 2.0)
    eventually(lambda: len(by_listener(access_lines(stack, lb["id"]), listeners[80])) >= 9,
               timeout=20)
    hostile = by_listener(access_lines(stack, lb["id"]), listeners[80])[4:]
    # haproxy forwards the first (the JSON holds its path as sent) and refuses the others
    assert (hostile[0]["http_status"], hostile[0]["http_path"]) == (200, '/a"b\\c%00%ff')
    assert [(line["http_status"], line["http_method"], line["http_path"], line["member_id"])
            for line in hostile[1:]] == [(400, "", "", "")] * (len(HOSTILE_REQUESTS) - 1)

    directory = Path(stack.conf.access_log.directory) / lb["id"]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "access.log").stat().st_mode) == 0o600
    for sock in (logs.log_socket_path(stack.conf.state_path),
                 logs.access_socket_path(stack.conf.state_path)):
        assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    del web_a, web_b, echo


def test_a_member_going_down_reaches_the_admin_log(stack: Stack, admin_log: Captured) -> None:
    web_a = backend(stack, "weba", 11)
    backend(stack, "webb", 12)
    pool = {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "healthmonitor": FAST_HTTP_MONITOR,
            "members": [member("weba", 11), member("webb", 12)]}
    lb = create_lb(stack, {"listeners": [{"protocol": "HTTP", "protocol_port": 80,
                                          "default_pool": pool}]})
    pool_id = pool_ids(stack, lb)["web"]
    members = {m["name"]: m["id"] for m in stack.api.member.get(
        f"/pools/{pool_id}/members").json()["members"]}

    web_a.control(health_code=503)

    def down_event() -> logging.LogRecord | None:
        for record in admin_log.records:
            if (getattr(record, "event", None) == "member_status"
                    and getattr(record, "status", None) == "DOWN"):
                return record
        return None

    eventually(lambda: down_event() is not None, timeout=20)
    record = down_event()
    assert record is not None
    assert (record.loadbalancer_id, record.pool_id, record.member_id) == (  # type: ignore[attr-defined]
        lb["id"], pool_id, members["weba"])
    assert "503" in record.getMessage() or "Layer7" in record.getMessage()
    assert record.levelno == logging.WARNING




def test_terminated_https_logs_the_client_certificate(stack: Stack, tmp_path: Path) -> None:
    backend(stack, "weba", 11)
    client = stack.client()
    server_ca = Authority.create("access log server CA")
    client_ca = Authority.create("access log client CA")
    api = stack.api

    def store(name: str, payload: bytes) -> str:
        answer = api.client.post("/key-manager/v1/secrets", headers={
            "X-Auth-Token": api.member.token}, json={
            "name": name, "payload": base64.b64encode(payload).decode(),
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["secret_ref"])

    lb = create_lb(stack, {"listeners": [{
        "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
        "default_tls_container_ref": store("server", server_ca.issue("www.example").pkcs12()),
        "client_authentication": "OPTIONAL",
        "client_ca_tls_container_ref": store("client-ca", client_ca.cert_pem.encode()),
        "default_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "members": [member("weba", 11)]}}]})
    options = client_cert_options(tmp_path, "client", client_ca.issue("log client",
                                                                      client=True))
    with_cert = curl(client, tmp_path, VIP, server_ca, *options, name="www.example")
    assert with_cert.code == 200, with_cert.error
    without = curl(client, tmp_path, VIP, server_ca, name="www.example", path="/anonymous")
    assert without.code == 200, without.error

    eventually(lambda: len(access_lines(stack, lb["id"])) == 2, timeout=20)
    signed, anonymous = sorted(access_lines(stack, lb["id"]), key=lambda line: line["http_path"])
    assert signed["http_path"] == "/"
    assert signed["tls_client_verify"] == 0
    assert "CN=log client" in signed["tls_client_dn"]
    assert signed["request_id"] == with_cert.backend()["headers"]["x-request-id"]
    assert (anonymous["http_path"], anonymous["tls_client_dn"]) == ("/anonymous", "")
    assert signed["protocol"] == "http" and signed["http_status"] == 200
