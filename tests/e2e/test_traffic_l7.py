"""L7 policies and rules, shown by traffic: REJECT, REDIRECT_TO_URL, REDIRECT_PREFIX and
REDIRECT_TO_POOL with PATH, FILE_TYPE, HOST_NAME, HEADER and COOKIE rules, ANDed rules,
inverted rules, evaluation order, and disabled policies."""

from __future__ import annotations

from typing import Any

from tests.e2e.stack import Stack
from tests.e2e.traffic import create_lb, member, update
from tests.e2e.traffic_backends import backend
from tests.e2e.traffic_clients import get


def _pool(name: str, octet: int) -> dict[str, Any]:
    return {"name": name, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member(name, octet)]}


def _rule(rule_type: str, compare: str, value: str, key: str | None = None,
          invert: bool = False) -> dict[str, Any]:
    rule = {"type": rule_type, "compare_type": compare, "value": value, "invert": invert}
    if key is not None:
        rule["key"] = key
    return rule


def test_l7_policies_route_redirect_and_reject(stack: Stack) -> None:
    for name, octet in (("main", 11), ("api", 12), ("static", 13), ("canary", 14)):
        backend(stack, name, octet)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "default_pool": _pool("main", 11),
        "l7policies": [
            {"name": "api", "action": "REDIRECT_TO_POOL", "position": 1,
             "redirect_pool": _pool("api", 12),
             "rules": [_rule("PATH", "STARTS_WITH", "/api")]},
            {"name": "css", "action": "REDIRECT_TO_POOL", "position": 2,
             "redirect_pool": _pool("static", 13),
             "rules": [_rule("FILE_TYPE", "EQUAL_TO", "css")]},
            {"name": "beta", "action": "REDIRECT_TO_POOL", "position": 3,
             "redirect_pool": _pool("canary", 14),
             "rules": [_rule("COOKIE", "EQUAL_TO", "1", key="beta"),
                       _rule("PATH", "STARTS_WITH", "/app")]},
            {"name": "admin", "action": "REJECT", "position": 4,
             "rules": [_rule("PATH", "STARTS_WITH", "/api/admin")]},
            {"name": "moved", "action": "REDIRECT_TO_URL", "position": 5,
             "redirect_url": "http://new.example.com/welcome", "redirect_http_code": 301,
             "rules": [_rule("HOST_NAME", "EQUAL_TO", "old.example.com")]},
            {"name": "legacy", "action": "REDIRECT_PREFIX", "position": 6,
             "redirect_prefix": "https://www.example.com",
             "rules": [_rule("PATH", "REGEX", "^/legacy(/|$)")]},
            {"name": "token", "action": "REJECT", "position": 7,
             "rules": [_rule("HEADER", "EQUAL_TO", "secret", key="X-Token", invert=True),
                       _rule("PATH", "STARTS_WITH", "/private")]},
        ]}]})
    vip = lb["vip_address"]

    def answer(path: str = "/", **headers: str) -> str:
        return get(client, vip, path=path, headers=headers).name

    # REDIRECT_TO_POOL by path, by file type, and by cookie AND path; the rest: default pool.
    assert answer("/") == "main"
    assert answer("/api/users") == "api"
    assert answer("/styles/site.css") == "static"
    assert answer("/app/home", Cookie="beta=1") == "canary"
    assert answer("/app/home", Cookie="beta=0") == "main"  # the cookie value must match
    assert answer("/", Cookie="beta=1") == "main"  # both rules must match

    # REJECT runs before REDIRECT_TO_POOL, whatever the positions.
    assert get(client, vip, path="/api/admin/users").status == 403

    # REDIRECT_TO_URL with its code; HOST_NAME matches the Host header, case-insensitively.
    for host in ("old.example.com", "OLD.example.com"):
        moved = get(client, vip, headers={"Host": host})
        assert (moved.status, moved.headers["location"]) == (301, "http://new.example.com/welcome")
    assert answer("/", Host="new.example.com") == "main"

    # REDIRECT_PREFIX keeps the path and query; the default code is 302.
    legacy = get(client, vip, path="/legacy/page?id=7")
    assert (legacy.status, legacy.headers["location"]) == (
        302, "https://www.example.com/legacy/page?id=7")
    assert answer("/legacyx") == "main"  # the regex wants "/legacy" then "/" or the end

    # An inverted rule: /private is refused unless the right token is sent.
    assert get(client, vip, path="/private").status == 403
    assert get(client, vip, path="/private", headers={"X-Token": "wrong"}).status == 403
    assert answer("/private", **{"X-Token": "secret"}) == "main"

    # A disabled policy no longer applies; enabled again, it does.
    policies = {p["name"]: p["id"] for p in
                stack.api.member.get(f"/l7policies?listener_id={lb['listeners'][0]['id']}")
                .json()["l7policies"]}
    update(stack, lb["id"], f"/l7policies/{policies['api']}", "l7policy",
           {"admin_state_up": False})
    assert answer("/api/users") == "main"
    update(stack, lb["id"], f"/l7policies/{policies['api']}", "l7policy",
           {"admin_state_up": True})
    assert answer("/api/users") == "api"


def test_l7_rule_changes_take_effect(stack: Stack) -> None:
    backend(stack, "main", 11)
    backend(stack, "api", 12)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "default_pool": _pool("main", 11),
        "l7policies": [{"name": "api", "action": "REDIRECT_TO_POOL",
                        "redirect_pool": _pool("api", 12),
                        "rules": [_rule("HEADER", "EQUAL_TO", "2", key="X-Version")]}]}]})
    vip = lb["vip_address"]
    policy_id = stack.api.member.get(
        f"/l7policies?listener_id={lb['listeners'][0]['id']}").json()["l7policies"][0]["id"]
    rule_id = stack.api.member.get(f"/l7policies/{policy_id}/rules").json()["rules"][0]["id"]

    assert get(client, vip, headers={"X-Version": "2"}).name == "api"
    assert get(client, vip, headers={"X-Version": "1"}).name == "main"

    update(stack, lb["id"], f"/l7policies/{policy_id}/rules/{rule_id}", "rule",
           {"compare_type": "STARTS_WITH", "value": "1"})
    assert get(client, vip, headers={"X-Version": "1.5"}).name == "api"
    assert get(client, vip, headers={"X-Version": "2"}).name == "main"

    # A policy whose only rule is disabled does nothing.
    update(stack, lb["id"], f"/l7policies/{policy_id}/rules/{rule_id}", "rule",
           {"admin_state_up": False})
    assert get(client, vip, headers={"X-Version": "1.5"}).name == "main"
