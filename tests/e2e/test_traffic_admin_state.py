"""admin_state_up false takes a load balancer, a listener, a pool or a member out of service
(shown by traffic), and true brings it back."""

from __future__ import annotations

from typing import Any

from tests.e2e.stack import Stack, eventually
from tests.e2e.traffic import (
    FAST_HTTP_MONITOR,
    create_lb,
    listener_ids,
    member,
    members_by_name,
    two_backend_lb,
    update,
    wait_status,
)
from tests.e2e.traffic_backends import backend
from tests.e2e.traffic_clients import get, is_refused, names


def _two_listener_lb(stack: Stack) -> dict[str, Any]:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    pool = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member("b1", 11), member("b2", 12)]}
    return create_lb(stack, {"listeners": [
        {"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "p80", **pool}},
        {"protocol": "HTTP", "protocol_port": 81, "default_pool": {"name": "p81", **pool}}]})


def _get_status(stack: Stack, path: str, key: str) -> str:
    return str(stack.api.member.get(path).json()[key]["operating_status"])


def test_listener_admin_state_down_closes_its_port(stack: Stack) -> None:
    lb = _two_listener_lb(stack)
    client = stack.client()
    vip, listener = lb["vip_address"], listener_ids(stack, lb)[81]

    update(stack, lb["id"], f"/listeners/{listener}", "listener", {"admin_state_up": False})
    assert is_refused(client, vip, 81)
    assert set(names(client, vip, 4, 80)) == {"b1", "b2"}  # the other listener is untouched
    eventually(lambda: _get_status(stack, f"/listeners/{listener}", "listener") == "OFFLINE")

    update(stack, lb["id"], f"/listeners/{listener}", "listener", {"admin_state_up": True})
    assert set(names(client, vip, 4, 81)) == {"b1", "b2"}


def test_loadbalancer_admin_state_down_closes_every_port(stack: Stack) -> None:
    lb = _two_listener_lb(stack)
    client = stack.client()
    vip = lb["vip_address"]
    assert get(client, vip, 80).status == get(client, vip, 81).status == 200

    update(stack, lb["id"], f"/loadbalancers/{lb['id']}", "loadbalancer",
           {"admin_state_up": False})
    assert is_refused(client, vip, 80) and is_refused(client, vip, 81)
    eventually(lambda: _get_status(stack, f"/loadbalancers/{lb['id']}", "loadbalancer")
               == "OFFLINE")

    update(stack, lb["id"], f"/loadbalancers/{lb['id']}", "loadbalancer",
           {"admin_state_up": True})
    assert set(names(client, vip, 4, 80)) == set(names(client, vip, 4, 81)) == {"b1", "b2"}


def test_pool_admin_state_down_answers_503(stack: Stack) -> None:
    lb = _two_listener_lb(stack)
    client = stack.client()
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    port = 80 if _default_pool_port(stack, lb, pool_id) == 80 else 81
    other = 161 - port

    update(stack, lb["id"], f"/pools/{pool_id}", "pool", {"admin_state_up": False})
    assert [get(client, vip, port).status for _ in range(3)] == [503] * 3
    assert set(names(client, vip, 4, other)) == {"b1", "b2"}
    eventually(lambda: _get_status(stack, f"/pools/{pool_id}", "pool") == "OFFLINE")

    update(stack, lb["id"], f"/pools/{pool_id}", "pool", {"admin_state_up": True})
    assert set(names(client, vip, 4, port)) == {"b1", "b2"}


def _default_pool_port(stack: Stack, lb: dict[str, Any], pool_id: str) -> int:
    for port, listener_id in listener_ids(stack, lb).items():
        listener = stack.api.member.get(f"/listeners/{listener_id}").json()["listener"]
        if listener["default_pool_id"] == pool_id:
            return port
    raise AssertionError(f"pool {pool_id} is nobody's default pool")


def test_member_admin_state_down_gets_no_traffic(stack: Stack) -> None:
    client, lb = two_backend_lb(stack, healthmonitor=FAST_HTTP_MONITOR)
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)
    wait_status(stack, pool_id, ids["b1"], "ONLINE")

    update(stack, lb["id"], f"/pools/{pool_id}/members/{ids['b1']}", "member",
           {"admin_state_up": False})
    assert names(client, vip, 6) == ["b2"] * 6
    wait_status(stack, pool_id, ids["b1"], "OFFLINE")

    update(stack, lb["id"], f"/pools/{pool_id}/members/{ids['b1']}", "member",
           {"admin_state_up": True})
    wait_status(stack, pool_id, ids["b1"], "ONLINE")
    assert set(names(client, vip, 4)) == {"b1", "b2"}
