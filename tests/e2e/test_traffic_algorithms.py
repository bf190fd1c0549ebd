"""Load-balancing algorithms and member weights, shown by which member answers."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from tests.e2e.stack import Stack
from tests.e2e.traffic import (
    FAST_HTTP_MONITOR,
    create_lb,
    member,
    members_by_name,
    update,
    wait_status,
)
from tests.e2e.traffic_backends import Backend, backend
from tests.e2e.traffic_clients import fetch, fetch_many, in_background, names


def _lb(stack: Stack, algorithm: str, members: list[dict[str, Any]], **pool: Any
        ) -> dict[str, Any]:
    return create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": algorithm,
                         "members": members, **pool}}]})


def test_round_robin_cycles_through_members(stack: Stack) -> None:
    for name, octet in (("b1", 11), ("b2", 12), ("b3", 13)):
        backend(stack, name, octet)
    client = stack.client()
    lb = _lb(stack, "ROUND_ROBIN", [member("b1", 11), member("b2", 12), member("b3", 13)])

    got = names(client, lb["vip_address"], 9)
    assert Counter(got) == {"b1": 3, "b2": 3, "b3": 3}
    assert got[3:6] == got[:3] and got[6:] == got[:3]  # a fixed cycle
    assert len(set(got[:3])) == 3


def _busy_member(backends: dict[str, Backend]) -> str:
    """The backend that is serving the held ``/slow`` request (from the backends' own logs)."""
    busy = [name for name, made in backends.items()
            if made.log(path="/slow?s=3")]
    assert len(busy) == 1, busy
    return busy[0]


def test_least_connections_avoids_the_busy_member(stack: Stack) -> None:
    backends = {name: backend(stack, name, octet) for name, octet in (("b1", 11), ("b2", 12))}
    client = stack.client()
    lb = _lb(stack, "ROUND_ROBIN", [member("b1", 11), member("b2", 12)])
    vip = str(lb["vip_address"])
    pool_id = lb["pools"][0]["id"]

    def quick_answers_while_one_is_busy() -> tuple[str, list[str]]:
        for made in backends.values():
            made.control(clear=1)
        with in_background(lambda: client.call(fetch, vip, 80, "/slow?s=3", timeout=15)):
            deadline = time.monotonic() + 5
            while not any(m.log(path="/slow?s=3") for m in backends.values()):
                assert time.monotonic() < deadline, "the slow request never arrived"
                time.sleep(0.05)
            busy = _busy_member(backends)
            quick = names(client, vip, 6)
        return busy, quick

    # Round robin ignores the connection held on one member: the others alternate.
    busy, quick = quick_answers_while_one_is_busy()
    assert Counter(quick) == {"b1": 3, "b2": 3}

    # Least connections sends every new request to the idle member.
    update(stack, str(lb["id"]), f"/pools/{pool_id}", "pool", {"lb_algorithm": "LEAST_CONNECTIONS"})
    busy, quick = quick_answers_while_one_is_busy()
    idle = ({"b1", "b2"} - {busy}).pop()
    assert quick == [idle] * 6


def test_source_ip_keeps_each_client_on_one_member(stack: Stack) -> None:
    for name, octet in (("b1", 11), ("b2", 12), ("b3", 13)):
        backend(stack, name, octet)
    clients = [stack.client(f"c{i}", 200 + i) for i in range(6)]
    lb = _lb(stack, "SOURCE_IP", [member("b1", 11), member("b2", 12), member("b3", 13)])
    vip = str(lb["vip_address"])

    chosen = {}
    for client in clients:
        got = set(names(client, vip, 8))
        assert len(got) == 1, f"{client.address} was spread over {got}"
        chosen[client.address] = got.pop()
    # Different addresses hash to different members (not everyone on one member).
    assert len(set(chosen.values())) >= 2, chosen


def test_source_ip_port_spreads_one_client_by_source_port(stack: Stack) -> None:
    for name, octet in (("b1", 11), ("b2", 12), ("b3", 13)):
        backend(stack, name, octet)
    client = stack.client()
    lb = _lb(stack, "SOURCE_IP_PORT", [member("b1", 11), member("b2", 12), member("b3", 13)])
    vip = str(lb["vip_address"])

    by_port = {}
    for port in range(41000, 41012):
        replies = client.call(fetch_many, vip, 80, 3, source_port=port)
        got = {r.name for r in replies}
        assert len(got) == 1, f"source port {port} was spread over {got}"
        by_port[port] = got.pop()
    # One client address, yet the members differ by source port.
    assert len(set(by_port.values())) >= 2, by_port


def test_member_weights_split_traffic_three_to_one(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb = _lb(stack, "ROUND_ROBIN", [member("b1", 11, weight=3), member("b2", 12, weight=1)])

    got = Counter(names(client, str(lb["vip_address"]), 40))
    assert 25 <= got["b1"] <= 35 and got["b1"] + got["b2"] == 40, got


def test_member_weight_zero_drains(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb = _lb(stack, "ROUND_ROBIN", [member("b1", 11), member("b2", 12)],
             healthmonitor=FAST_HTTP_MONITOR)
    vip, pool_id = str(lb["vip_address"]), lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    assert set(names(client, vip, 4)) == {"b1", "b2"}

    update(stack, str(lb["id"]), f"/pools/{pool_id}/members/{ids['b1']}", "member", {"weight": 0})
    assert names(client, vip, 8) == ["b2"] * 8
    wait_status(stack, pool_id, ids["b1"], "DRAINING")

    update(stack, str(lb["id"]), f"/pools/{pool_id}/members/{ids['b1']}", "member", {"weight": 1})
    assert set(names(client, vip, 4)) == {"b1", "b2"}
    wait_status(stack, pool_id, ids["b1"], "ONLINE")


def test_member_weight_zero_lets_open_connections_finish(stack: Stack) -> None:
    made = backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb = _lb(stack, "ROUND_ROBIN", [member("b1", 11), member("b2", 12)])
    vip, pool_id = str(lb["vip_address"]), lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)

    # Two slow requests in flight, one on each member; b1 is drained while serving one.
    def slow() -> Any:
        return client.call(fetch, vip, 80, "/slow?s=5", timeout=15)

    with in_background(slow) as first, in_background(slow) as second:
        deadline = time.monotonic() + 5
        while not made.log(path="/slow?s=5"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        update(stack, str(lb["id"]), f"/pools/{pool_id}/members/{ids['b1']}", "member",
               {"weight": 0})
        assert "end" not in first or "end" not in second  # b1's request is still running
        assert names(client, vip, 4) == ["b2"] * 4
    assert "error" not in first and "error" not in second, (first, second)
    assert {first["result"].name, second["result"].name} == {"b1", "b2"}
    assert first["result"].status == second["result"].status == 200


def test_backup_member_serves_only_when_primaries_are_down(stack: Stack) -> None:
    primary = backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb = _lb(stack, "ROUND_ROBIN", [member("b1", 11), member("b2", 12, backup=True)],
             healthmonitor=FAST_HTTP_MONITOR)
    vip, pool_id = str(lb["vip_address"]), lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    wait_status(stack, pool_id, ids["b2"], "ONLINE")
    assert names(client, vip, 6) == ["b1"] * 6

    primary.control(health_code=503)
    wait_status(stack, pool_id, ids["b1"], "ERROR")
    assert names(client, vip, 6) == ["b2"] * 6

    primary.control(health_code=200)
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    assert names(client, vip, 6) == ["b1"] * 6
