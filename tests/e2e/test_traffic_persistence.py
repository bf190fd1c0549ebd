"""Session persistence, shown by traffic: SOURCE_IP (a stick table on the client address),
HTTP_COOKIE (the load balancer's own cookie) and APP_COOKIE (the application's cookie)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.e2e.stack import Stack
from tests.e2e.traffic import create_lb, member, members_by_name, update
from tests.e2e.traffic_backends import backend
from tests.e2e.traffic_clients import get, names


def _lb(stack: Stack, persistence: dict[str, Any]) -> dict[str, Any]:
    return create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "session_persistence": persistence,
                         "members": [member("b1", 11), member("b2", 12)]}}]})


def test_source_ip_persistence_sticks_each_client(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    first, second = stack.client("c1", 200), stack.client("c2", 201)
    lb = _lb(stack, {"type": "SOURCE_IP", "persistence_timeout": 60})
    vip = lb["vip_address"]

    # Round robin picks the first member of each client; the stick table keeps it there.
    got_first = names(first, vip, 6)
    got_second = names(second, vip, 6)
    assert len(set(got_first)) == 1 and len(set(got_second)) == 1, (got_first, got_second)
    assert got_first[0] != got_second[0]
    assert set(names(first, vip, 4)) == {got_first[0]}


def test_http_cookie_persistence_sticks_by_inserted_cookie(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb = _lb(stack, {"type": "HTTP_COOKIE"})
    vip = lb["vip_address"]
    ids = members_by_name(stack, lb["pools"][0]["id"])

    # Without the cookie: round robin, and each answer offers the cookie of its member.
    cookies = {}
    for _ in range(4):
        reply = get(client, vip)
        assert "set-cookie" in reply.headers, reply.headers
        cookies[reply.name] = reply.headers["set-cookie"].split(";")[0]
    assert set(cookies) == {"b1", "b2"}
    assert cookies["b1"] != cookies["b2"]
    assert ids["b1"] in cookies["b1"] and ids["b2"] in cookies["b2"]

    # With a cookie: always the member it names, and it is not shown to the member.
    for name in ("b1", "b2"):
        replies = [get(client, vip, headers={"Cookie": cookies[name]}) for _ in range(6)]
        assert [r.name for r in replies] == [name] * 6
        assert all(r.json()["cookies"] == {} for r in replies)

    # The member a cookie names is taken out: its clients move to the other one, not an error.
    pool_id = lb["pools"][0]["id"]
    update(stack, lb["id"], f"/pools/{pool_id}/members/{ids['b1']}", "member",
           {"admin_state_up": False})
    assert names(client, vip, 3, headers={"Cookie": cookies["b1"]}) == ["b2"] * 3


def test_app_cookie_persistence_follows_application_cookie(stack: Stack) -> None:
    backend(stack, "b1", 11, cookie="SESSIONID")
    backend(stack, "b2", 12, cookie="SESSIONID")
    client = stack.client()
    lb = _lb(stack, {"type": "APP_COOKIE", "cookie_name": "SESSIONID"})
    vip = lb["vip_address"]

    # Each member starts a session of its own; the load balancer learns them from responses.
    sessions = {}
    for _ in range(2):
        reply = get(client, vip)
        sessions[reply.name] = reply.headers["set-cookie"].split(";")[0]
    assert set(sessions) == {"b1", "b2"}

    for name, cookie in sessions.items():
        got = names(client, vip, 6, headers={"Cookie": cookie})
        assert got == [name] * 6, (name, got)
    # Requests without a session, or with an unknown one, are still balanced.
    assert Counter(names(client, vip, 4)) == {"b1": 2, "b2": 2}
    assert set(names(client, vip, 4, headers={"Cookie": "SESSIONID=unknown"})) == {"b1", "b2"}
    # Another cookie name does not count.
    assert set(names(client, vip, 4, headers={"Cookie": "OTHER=" + sessions["b1"].split("=")[1]})
               ) == {"b1", "b2"}
