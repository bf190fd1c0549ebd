"""Listeners, shown by traffic: HTTP, TCP and HTTPS (TLS passthrough) on one VIP, connection
limits, the four timeouts, inserted X-Forwarded-* headers and allowed CIDRs."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.e2e.stack import Stack
from tests.e2e.traffic import create_lb, listener_ids, member, update
from tests.e2e.traffic_backends import backend, self_signed
from tests.e2e.traffic_clients import (
    fetch,
    get,
    in_background,
    is_refused,
    names,
    open_idle,
    tcp_exchange,
)


def _pool(name: str, protocol: str, members: list[dict[str, object]], **kw: object
          ) -> dict[str, object]:
    return {"name": name, "protocol": protocol, "lb_algorithm": "ROUND_ROBIN",
            "members": members, **kw}


def test_listeners_http_tcp_https_share_one_vip(stack: Stack, tmp_path: Path) -> None:
    certs = {name: self_signed(tmp_path, name) for name in ("b1", "b2")}
    for name, octet in (("b1", 11), ("b2", 12)):
        made = backend(stack, name, octet)
        made.serve(7, mode="echo")
        made.serve(443, tls=certs[name])
    client = stack.client()
    lb = create_lb(stack, {"name": "multi", "listeners": [
        {"protocol": "HTTP", "protocol_port": 80,
         "default_pool": _pool("web", "HTTP", [member("b1", 11), member("b2", 12)])},
        {"protocol": "TCP", "protocol_port": 8080,
         "default_pool": _pool("echo", "TCP", [member("b1", 11, 7), member("b2", 12, 7)])},
        {"protocol": "HTTPS", "protocol_port": 8443,
         "default_pool": _pool("tls", "HTTPS", [member("b1", 11, 443),
                                                member("b2", 12, 443)])}]})
    vip = lb["vip_address"]

    # HTTP on 80: round robin over the plain HTTP servers.
    replies = [get(client, vip, 80) for _ in range(4)]
    assert [r.name for r in replies] in (["b1", "b2"] * 2, ["b2", "b1"] * 2)
    assert not any(r.json()["tls"] for r in replies)

    # TCP on 8080: raw bytes (not HTTP) reach the echo servers and come back.
    echoes = [client.call(tcp_exchange, vip, 8080, b"not http\n") for _ in range(4)]
    assert sorted(echoes) == [b"b1:not http\n"] * 2 + [b"b2:not http\n"] * 2

    # HTTPS on 8443: TLS is not terminated, the client talks TLS with the member itself and
    # sees the member's own certificate.
    for _ in range(4):
        reply = get(client, vip, 8443, tls=True)
        assert reply.status == 200 and reply.json()["tls"] is True
        assert reply.peer_cert == certs[reply.name].der()
    assert {get(client, vip, 8443, tls=True).name for _ in range(2)} == {"b1", "b2"}

    # A port without a listener is closed on the VIP.
    assert is_refused(client, vip, 81)


def test_connection_limit_holds_extra_connections(stack: Stack) -> None:
    backend(stack, "b1", 11)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "connection_limit": 2,
        "default_pool": _pool("web", "HTTP", [member("b1", 11)])}]})
    vip = lb["vip_address"]
    assert get(client, vip).name == "b1"

    held = [client.call(open_idle, vip, 80) for _ in range(2)]
    try:
        with in_background(lambda: client.call(fetch, vip, 80, timeout=15)) as third:
            time.sleep(2)
            assert "result" not in third and "error" not in third, \
                "a third connection was served while the limit of 2 was in use"
            released = time.monotonic()
            for sock in held:
                sock.close()
            deadline = time.monotonic() + 10
            while "end" not in third and time.monotonic() < deadline:
                time.sleep(0.05)
        assert third.get("result") is not None, third
        assert third["result"].name == "b1"
        assert third["end"] - released < 3
    finally:
        for sock in held:
            sock.close()


def test_timeout_member_data_gives_504(stack: Stack) -> None:
    backend(stack, "b1", 11)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "timeout_member_data": 500,
        "default_pool": _pool("web", "HTTP", [member("b1", 11)])}]})
    vip = lb["vip_address"]

    assert get(client, vip, path="/slow?s=0.1").status == 200
    started = time.monotonic()
    reply = get(client, vip, path="/slow?s=3", timeout=10)
    assert reply.status == 504
    assert time.monotonic() - started < 2.5


def _wait_closed(sock: socket.socket, limit: float) -> float:
    """Seconds until the peer closes ``sock`` (it may send an error response first)."""
    started = time.monotonic()
    sock.settimeout(limit)
    while sock.recv(4096):
        pass
    return time.monotonic() - started


def test_timeout_client_data_closes_idle_connections(stack: Stack) -> None:
    backend(stack, "b1", 11)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [
        {"protocol": "HTTP", "protocol_port": 80, "timeout_client_data": 1000,
         "default_pool": _pool("short", "HTTP", [member("b1", 11)])},
        {"protocol": "HTTP", "protocol_port": 81,
         "default_pool": _pool("default", "HTTP", [member("b1", 11)])}]})
    vip = lb["vip_address"]

    short, default = client.call(open_idle, vip, 80), client.call(open_idle, vip, 81)
    with short, default:
        assert 0.5 < _wait_closed(short, 6) < 4
        # The listener with the default timeout (50 s) keeps its idle connection open...
        default.settimeout(1)
        with pytest.raises(TimeoutError):
            default.recv(1)
        # ...and it still carries a request.
        default.settimeout(5)
        default.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = default.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")


def test_timeout_member_connect_fails_over_to_next_member(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "hole", 99, mode="blackhole")  # connections to it hang unanswered
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "timeout_member_connect": 300,
        "default_pool": _pool("web", "HTTP", [member("hole", 99), member("b1", 11)])}]})
    vip = lb["vip_address"]

    for _ in range(4):
        started = time.monotonic()
        reply = get(client, vip, timeout=30)
        # Four attempts of 300 ms at most, then redispatched; the 5 s default would need 20 s.
        assert reply.name == "b1"
        assert time.monotonic() - started < 2.5


def test_insert_headers_forwarded_for_port_and_proto(stack: Stack) -> None:
    backend(stack, "b1", 11)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [
        {"protocol": "HTTP", "protocol_port": 80,
         "insert_headers": {"X-Forwarded-For": "true", "X-Forwarded-Port": "true",
                            "X-Forwarded-Proto": "true"},
         "default_pool": _pool("with", "HTTP", [member("b1", 11)])},
        {"protocol": "HTTP", "protocol_port": 81,
         "default_pool": _pool("without", "HTTP", [member("b1", 11)])}]})
    vip = lb["vip_address"]

    seen = get(client, vip, 80, headers={"X-Forwarded-Port": "9999"}).json()
    assert seen["peer"] == vip  # the member talks to the load balancer...
    headers = seen["headers"]  # ...which tells it who the client was
    assert headers["x-forwarded-for"] == client.address
    assert headers["x-forwarded-port"] == "80"  # set, not appended to the client's own
    assert headers["x-forwarded-proto"] == "http"

    plain = get(client, vip, 81).json()["headers"]
    assert not {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"} & set(plain)

    # Turned off again: the headers are gone.
    listener_id = listener_ids(stack, lb)[80]
    update(stack, lb["id"], f"/listeners/{listener_id}", "listener",
           {"insert_headers": {"X-Forwarded-For": "false"}})
    assert "x-forwarded-for" not in get(client, vip, 80).json()["headers"]


def test_allowed_cidrs_refuses_clients_outside(stack: Stack) -> None:
    backend(stack, "b1", 11)
    inside = stack.client("in", 200)
    outside = stack.client("out", 201)
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "allowed_cidrs": ["10.241.0.200/32"],
        "default_pool": _pool("web", "HTTP", [member("b1", 11)])}]})
    vip = lb["vip_address"]

    assert names(inside, vip, 3) == ["b1"] * 3
    assert is_refused(outside, vip)

    listener_id = listener_ids(stack, lb)[80]
    update(stack, lb["id"], f"/listeners/{listener_id}", "listener",
           {"allowed_cidrs": ["10.241.0.200/32", "10.241.0.192/28"]})
    assert names(outside, vip, 2) == ["b1"] * 2
    assert names(inside, vip, 2) == ["b1"] * 2

    update(stack, lb["id"], f"/listeners/{listener_id}", "listener",
           {"allowed_cidrs": ["10.241.0.128/30"]})
    assert is_refused(inside, vip) and is_refused(outside, vip)
