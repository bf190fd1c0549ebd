"""Health monitors, shown by traffic: what the checks look like on the members' side, which
members get requests, and the member statuses the API reports as a result."""

from __future__ import annotations

import itertools
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e.stack import Stack, eventually
from tests.e2e.traffic import (
    FAST_HTTP_MONITOR,
    create_lb,
    member,
    members_by_name,
    pool_ids,
    update,
    wait_status,
)
from tests.e2e.traffic_backends import Backend, backend, self_signed
from tests.e2e.traffic_clients import names
from tests.netlab import Host


def _lb(stack: Stack, members: list[dict[str, Any]], monitor: dict[str, Any] | None
        ) -> tuple[dict[str, Any], str, dict[str, str]]:
    pool: dict[str, Any] = {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                            "members": members}
    if monitor is not None:
        pool["healthmonitor"] = monitor
    lb = create_lb(stack, {"listeners": [{"protocol": "HTTP", "protocol_port": 80,
                                         "default_pool": pool}]})
    pool_id = lb["pools"][0]["id"]
    return lb, pool_id, members_by_name(stack, pool_id)


def _monitor_id(stack: Stack, pool_id: str) -> str:
    return str(stack.api.member.get(f"/pools/{pool_id}").json()["pool"]["healthmonitor_id"])


def _only(client: Host, vip: str, name: str, port: int = 80, **kw: Any) -> None:
    """Every one of a few new connections is answered by ``name``."""
    eventually(lambda: names(client, vip, 4, port, **kw) == [name] * 4, timeout=10)


def test_http_monitor_sends_method_path_version_and_host(stack: Stack) -> None:
    b1 = backend(stack, "b1", 11, health_host="app.example.com")  # 404 for another Host
    b2 = backend(stack, "b2", 12, health_code=500)
    client = stack.client()
    monitor = {**FAST_HTTP_MONITOR, "http_method": "HEAD", "url_path": "/healthz?probe=1",
               "expected_codes": "200", "http_version": 1.1, "domain_name": "app.example.com"}
    lb, pool_id, ids = _lb(stack, [member("b1", 11), member("b2", 12)], monitor)
    vip = lb["vip_address"]

    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    wait_status(stack, pool_id, ids["b2"], "ERROR")
    _only(client, vip, "b1")
    eventually(lambda: bool(b1.log(path="/healthz?probe=1")))
    checks = b1.log(path="/healthz?probe=1")
    assert {(c["method"], c["version"], c["host"]) for c in checks} == {
        ("HEAD", "HTTP/1.1", "app.example.com")}
    assert b2.log(path="/healthz?probe=1")  # b2 is checked too, and answers 500

    # expected_codes decides what healthy means: now only b2's 500 counts as healthy.
    hm_id = _monitor_id(stack, pool_id)
    update(stack, lb["id"], f"/healthmonitors/{hm_id}", "healthmonitor",
           {"expected_codes": "500"})
    wait_status(stack, pool_id, ids["b1"], "ERROR")
    wait_status(stack, pool_id, ids["b2"], "ONLINE")
    _only(client, vip, "b2")

    # domain_name is the Host of the checks: b1 refuses another name (404), so with 200-404
    # expected it comes back, and the checks show the new name.
    update(stack, lb["id"], f"/healthmonitors/{hm_id}", "healthmonitor",
           {"expected_codes": "404", "domain_name": "other.example.com"})
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    wait_status(stack, pool_id, ids["b2"], "ERROR")
    _only(client, vip, "b1")
    assert b1.log(path="/healthz?probe=1")[-1]["host"] == "other.example.com"


def test_http_monitor_defaults_to_get_slash_http_1_0(stack: Stack) -> None:
    b1 = backend(stack, "b1", 11, health_path="/")
    client = stack.client()
    lb, pool_id, ids = _lb(stack, [member("b1", 11)],
                           {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1})
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    assert names(client, lb["vip_address"], 2) == ["b1"] * 2

    def checks() -> list[dict[str, Any]]:
        # Health checks are the requests without a Host header (client requests carry one).
        return [c for c in b1.log(path="/") if c["host"] is None]

    eventually(lambda: bool(checks()))
    assert {(c["method"], c["version"], c["peer"]) for c in checks()} == {
        ("GET", "HTTP/1.0", lb["vip_address"])}


def _check_times(made: Backend, path: str = "/healthz") -> list[float]:
    return [c["t"] for c in made.log(path=path)]


def _intervals(made: Backend, count: int, timeout: float) -> list[float]:
    made.control(clear=1)
    eventually(lambda: len(_check_times(made)) >= count + 1, timeout=timeout)
    times = _check_times(made)
    return [b - a for a, b in itertools.pairwise(times)]


def test_monitor_delay_sets_the_check_interval(stack: Stack) -> None:
    b1 = backend(stack, "b1", 11)
    lb, pool_id, ids = _lb(stack, [member("b1", 11)], {**FAST_HTTP_MONITOR, "delay": 1})
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    assert 0.7 < statistics.median(_intervals(b1, 3, 10)) < 1.4

    hm_id = _monitor_id(stack, pool_id)
    update(stack, lb["id"], f"/healthmonitors/{hm_id}", "healthmonitor", {"delay": 2})
    assert 1.7 < statistics.median(_intervals(b1, 2, 12)) < 2.5


def _serves(client: Host, vip: str, name: str) -> bool:
    return name in names(client, vip, 2)


def _seconds_until(check: Any, timeout: float) -> float:
    started = time.monotonic()
    eventually(check, timeout=timeout, interval=0.05)
    return time.monotonic() - started


def test_monitor_retries_pace_going_down_and_coming_back(stack: Stack) -> None:
    backend(stack, "b1", 11)
    b2 = backend(stack, "b2", 12)
    client = stack.client()
    lb, pool_id, ids = _lb(stack, [member("b1", 11), member("b2", 12)],
                           {**FAST_HTTP_MONITOR, "max_retries_down": 3, "max_retries": 3})
    vip = lb["vip_address"]
    wait_status(stack, pool_id, ids["b2"], "ONLINE")
    assert _serves(client, vip, "b2")
    # HAProxy starts a server "up, but down at the first failure": only after fall - 1 good
    # checks does it take max_retries_down failures to go down.
    eventually(lambda: len(b2.log(path="/healthz")) >= 3, timeout=10)

    # Three failed checks a second apart: out of rotation after about 2-3 s, not at once.
    b2.control(health_code=500)
    down = _seconds_until(lambda: not _serves(client, vip, "b2"), 10)
    assert 1.6 < down < 5, down
    wait_status(stack, pool_id, ids["b2"], "ERROR")

    # Three good checks to come back.
    b2.control(health_code=200)
    up = _seconds_until(lambda: _serves(client, vip, "b2"), 10)
    assert 1.6 < up < 5, up
    wait_status(stack, pool_id, ids["b2"], "ONLINE")

    # With max_retries_down 1, one failed check is enough.
    hm_id = _monitor_id(stack, pool_id)
    update(stack, lb["id"], f"/healthmonitors/{hm_id}", "healthmonitor",
           {"max_retries_down": 1})
    eventually(lambda: _serves(client, vip, "b2"))
    b2.control(health_code=500)
    down = _seconds_until(lambda: not _serves(client, vip, "b2"), 10)
    assert down < 1.6, down


def test_monitor_timeout_fails_slow_health_answers(stack: Stack) -> None:
    backend(stack, "b1", 11)
    b2 = backend(stack, "b2", 12)
    b2.control(health_delay=1.5)  # healthy, but answers its health path after 1.5 s
    client = stack.client()
    lb, pool_id, ids = _lb(stack, [member("b1", 11), member("b2", 12)],
                           {**FAST_HTTP_MONITOR, "delay": 3, "timeout": 1})
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    wait_status(stack, pool_id, ids["b2"], "ERROR")
    _only(client, lb["vip_address"], "b1")

    hm_id = _monitor_id(stack, pool_id)
    update(stack, lb["id"], f"/healthmonitors/{hm_id}", "healthmonitor", {"timeout": 3})
    wait_status(stack, pool_id, ids["b2"], "ONLINE")
    assert set(names(client, lb["vip_address"], 4)) == {"b1", "b2"}


def test_https_and_tls_hello_monitors_tell_tls_members_from_plain_ones(
        stack: Stack, tmp_path: Path) -> None:
    tls = backend(stack, "t1", 21, port=None).serve(443, tls=self_signed(tmp_path, "t1"))
    plain = backend(stack, "p1", 22, port=443)  # plain HTTP on the TLS port
    client = stack.client()
    members = [member("t1", 21, 443), member("p1", 22, 443)]
    lb = create_lb(stack, {"listeners": [
        {"protocol": "HTTPS", "protocol_port": 443, "default_pool": {
            "name": "https", "protocol": "HTTPS", "lb_algorithm": "ROUND_ROBIN",
            "members": members, "healthmonitor": {**FAST_HTTP_MONITOR, "type": "HTTPS"}}},
        {"protocol": "HTTPS", "protocol_port": 8443, "default_pool": {
            "name": "hello", "protocol": "HTTPS", "lb_algorithm": "ROUND_ROBIN",
            "members": members, "healthmonitor": {
                "type": "TLS-HELLO", "delay": 1, "timeout": 1, "max_retries": 1,
                "max_retries_down": 1}}}]})
    vip = lb["vip_address"]
    for pool_id in pool_ids(stack, lb).values():
        ids = members_by_name(stack, pool_id)
        wait_status(stack, pool_id, ids["t1"], "ONLINE")
        wait_status(stack, pool_id, ids["p1"], "ERROR")
    for port in (443, 8443):
        _only(client, vip, "t1", port, tls=True)
    # The HTTPS checks reached t1's TLS server as HTTP requests for the monitor's path...
    eventually(lambda: bool(tls.log(443, path="/healthz")))
    # ...while the plain server never saw a health check request it could read.
    assert not plain.log(443, path="/healthz")


def test_tcp_and_ping_monitors_detect_a_closed_port(stack: Stack) -> None:
    backend(stack, "b1", 11)
    b2 = backend(stack, "b2", 12, port=None)  # the host is up (answers ping), port 8081 closed
    client = stack.client()
    fast = {"delay": 1, "timeout": 1, "max_retries": 1, "max_retries_down": 1}
    members = [member("b1", 11), member("b2", 12, 8081)]
    lb = create_lb(stack, {"listeners": [
        {"protocol": "HTTP", "protocol_port": 80, "default_pool": {
            "name": "tcp", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": members, "healthmonitor": {"type": "TCP", **fast}}},
        {"protocol": "HTTP", "protocol_port": 81, "default_pool": {
            "name": "ping", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": members, "healthmonitor": {"type": "PING", **fast}}}]})
    vip = lb["vip_address"]
    pools = pool_ids(stack, lb)
    for pool_id in pools.values():
        ids = members_by_name(stack, pool_id)
        wait_status(stack, pool_id, ids["b1"], "ONLINE")
        wait_status(stack, pool_id, ids["b2"], "ERROR")
    _only(client, vip, "b1", 80)
    _only(client, vip, "b1", 81)

    b2.serve(8081)
    for pool_id in pools.values():
        wait_status(stack, pool_id, members_by_name(stack, pool_id)["b2"], "ONLINE")
    for port in (80, 81):
        assert set(names(client, vip, 4, port)) == {"b1", "b2"}


def test_monitor_address_and_port_redirect_the_checks(stack: Stack) -> None:
    b1 = backend(stack, "b1", 11)
    b2 = backend(stack, "b2", 12)
    prober = backend(stack, "h3", 13, port=9000)  # answers b2's health checks
    client = stack.client()
    lb, pool_id, ids = _lb(stack, [
        member("b1", 11, monitor_port=8081),  # b1 serves on 80, nothing on 8081
        member("b2", 12, monitor_address="10.241.0.13", monitor_port=9000)],
        FAST_HTTP_MONITOR)
    vip = lb["vip_address"]

    wait_status(stack, pool_id, ids["b1"], "ERROR")
    wait_status(stack, pool_id, ids["b2"], "ONLINE")
    _only(client, vip, "b2")
    eventually(lambda: len(prober.log(9000, path="/healthz")) >= 2)
    assert not b1.log(path="/healthz") and not b2.log(path="/healthz")

    # The monitor port opens on b1: checked there, it comes back into rotation.
    b1.serve(8081)
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    assert set(names(client, vip, 4)) == {"b1", "b2"}
    eventually(lambda: bool(b1.log(8081, path="/healthz")))


def test_members_without_a_monitor_are_no_monitor_and_always_used(stack: Stack) -> None:
    backend(stack, "b1", 11)
    b2 = backend(stack, "b2", 12, health_code=500)  # would fail an HTTP check; serves "/"
    client = stack.client()
    lb, pool_id, ids = _lb(stack, [member("b1", 11), member("b2", 12)], None)
    vip = lb["vip_address"]

    assert Counter(names(client, vip, 6)) == {"b1": 3, "b2": 3}
    wait_status(stack, pool_id, ids["b1"], "NO_MONITOR")
    wait_status(stack, pool_id, ids["b2"], "NO_MONITOR")
    b2.control(clear=1)
    time.sleep(1.5)
    assert b2.log() == []  # nobody checks it


def _failed_member_lb(stack: Stack) -> tuple[Host, str, dict[str, Any], str, dict[str, str]]:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12, health_code=500)  # fails its health path, serves "/"
    client = stack.client()
    lb, pool_id, ids = _lb(stack, [member("b1", 11), member("b2", 12)], FAST_HTTP_MONITOR)
    wait_status(stack, pool_id, ids["b2"], "ERROR")
    _only(client, lb["vip_address"], "b1")
    return client, lb["vip_address"], lb, pool_id, ids


def test_monitor_admin_state_down_puts_failed_members_back_in_rotation(stack: Stack) -> None:
    client, vip, lb, pool_id, ids = _failed_member_lb(stack)

    # A disabled monitor checks nothing: like a pool without a monitor, b2 is used again.
    update(stack, lb["id"], f"/healthmonitors/{_monitor_id(stack, pool_id)}", "healthmonitor",
           {"admin_state_up": False})
    wait_status(stack, pool_id, ids["b2"], "NO_MONITOR")
    eventually(lambda: set(names(client, vip, 4)) == {"b1", "b2"}, timeout=5)


def test_monitor_deleted_puts_failed_members_back_in_rotation(stack: Stack) -> None:
    client, vip, lb, pool_id, ids = _failed_member_lb(stack)

    r = stack.api.member.delete(f"/healthmonitors/{_monitor_id(stack, pool_id)}")
    assert r.status_code == 204, r.text
    assert stack.wait_lb(lb["id"])["provisioning_status"] == "ACTIVE"
    wait_status(stack, pool_id, ids["b2"], "NO_MONITOR")
    eventually(lambda: set(names(client, vip, 4)) == {"b1", "b2"}, timeout=5)
