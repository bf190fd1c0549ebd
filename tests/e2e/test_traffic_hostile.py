"""Hostile input never changes what the load balancer does.

Names, descriptions and tags full of newlines, quotes, ``#`` and HAProxy keywords are accepted
and make no difference to traffic; L7 values with HAProxy syntax match literally; values that
cannot be written safely (url_path with a newline, cookie names with spaces or ``;``, rule values
with spaces or quotes...) get 400 and leave the running load balancer exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.stack import Stack
from tests.e2e.traffic import FAST_HTTP_MONITOR, create_lb, member, members_by_name, wait_status
from tests.e2e.traffic_backends import Backend, backend
from tests.e2e.traffic_clients import get, is_refused, names
from tests.netlab import Host

EVIL = "10.241.0.66"
HOSTILE = (
    "x\nserver evil 10.241.0.66:80 check\nbind 10.241.0.66:9999\n"
    "frontend f\n  bind *:9999 # ' \" ` ${HOME} %[src] \\ {{ name }} {% if %} ;"
)
HOSTILE_TAG = "bind *:9999 # 'q' \"dq\" server evil 10.241.0.66:80 %[src] ${HOME}"  # no newline


def _evil_host(stack: Stack) -> Backend:
    """A host at the address the hostile strings name, listening on 80 and 9999: if any
    injected line took effect, it would receive traffic."""
    evil = backend(stack, "evil", 66)
    evil.serve(9999)
    return evil


def _tree(label: str, hostile: bool) -> dict[str, Any]:
    def name(kind: str) -> str:
        return f"{kind}{HOSTILE}" if hostile else f"{label}-{kind}"

    def extra(kind: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"name": name(kind)}
        if hostile:
            fields["tags"] = [HOSTILE_TAG, "server", "#"]
        return fields

    def described(kind: str) -> dict[str, Any]:
        return {**extra(kind), "description": name(f"{kind}-description")}

    return {**described("lb"), "listeners": [{
        **described("listener"), "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {
            **described("pool"), "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [{**member("b1", 11), **extra("m1")}, {**member("b2", 12), **extra("m2")}],
            "healthmonitor": {**FAST_HTTP_MONITOR, **extra("hm")}},
        "l7policies": [{**described("policy"), "action": "REJECT", "rules": [
            {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/blocked",
             **({"tags": [HOSTILE_TAG]} if hostile else {})}]}]}]}


def _behaviour(stack: Stack, client: Host, lb: dict[str, Any]) -> dict[str, Any]:
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    for member_id in members_by_name(stack, pool_id).values():
        wait_status(stack, pool_id, member_id, "ONLINE")
    return {
        "answers": sorted(names(client, vip, 6)),
        "blocked": get(client, vip, path="/blocked/x").status,
        "port_9999_closed": is_refused(client, vip, 9999),
        "status": stack.api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"][
            "operating_status"],
    }


def test_hostile_names_descriptions_and_tags_change_nothing(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    evil = _evil_host(stack)
    client = stack.client()

    benign = create_lb(stack, _tree("plain", hostile=False))
    hostile = create_lb(stack, _tree("evil", hostile=True), vip_octet=101)
    assert hostile["provisioning_status"] == "ACTIVE"

    expected = {"answers": ["b1"] * 3 + ["b2"] * 3, "blocked": 403, "port_9999_closed": True,
                "status": "ONLINE"}
    assert _behaviour(stack, client, benign) == expected
    assert _behaviour(stack, client, hostile) == expected
    assert evil.log() == [] and evil.log(9999) == []

    # The strings come back exactly as given.
    got = stack.api.member.get(f"/loadbalancers/{hostile['id']}").json()["loadbalancer"]
    assert got["name"] == f"lb{HOSTILE}" and got["description"] == f"lb-description{HOSTILE}"
    assert sorted(got["tags"]) == sorted([HOSTILE_TAG, "server", "#"])


def test_hostile_l7_values_match_literally(stack: Stack) -> None:
    backend(stack, "main", 11)
    backend(stack, "api", 12)
    client = stack.client()
    literal = {"X-Tag": "#not-a-comment", "X-Fmt": "%[src]", "X-Env": "${HOME}"}
    policies = [
        {"action": "REDIRECT_TO_POOL", "redirect_pool": {
            "name": f"api-{header}", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member("api", 12)]},
         "rules": [{"type": "HEADER", "key": header, "compare_type": "EQUAL_TO",
                    "value": value}]}
        for header, value in literal.items()]
    policies.append({"action": "REJECT", "rules": [
        {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/server;bind#"},
        {"type": "COOKIE", "key": "server", "compare_type": "EQUAL_TO", "value": "if"}]})
    # Redirect targets with log-format, environment and quoting syntax are written literally.
    redirects = {"/to-url": ("REDIRECT_TO_URL", "redirect_url",
                             "http://x.example.com/a%[src]b?q='1'&r=$HOME"),
                 "/to-prefix": ("REDIRECT_PREFIX", "redirect_prefix",
                                "https://y.example.com/it's;(a)*+,=:@~!$PATH")}
    for path, (action, field, target) in redirects.items():
        policies.append({"action": action, field: target, "rules": [
            {"type": "PATH", "compare_type": "EQUAL_TO", "value": path}]})
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "l7policies": policies,
        "default_pool": {"name": "main", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "members": [member("main", 11)]}}]})
    vip = lb["vip_address"]

    assert get(client, vip).name == "main"
    for header, value in literal.items():
        assert get(client, vip, headers={header: value}).name == "api", header
    # What the value would mean if HAProxy interpreted it does not match.
    assert get(client, vip, headers={"X-Tag": ""}).name == "main"
    assert get(client, vip, headers={"X-Fmt": client.address}).name == "main"
    assert get(client, vip, headers={"X-Env": "/root"}).name == "main"
    assert get(client, vip, path="/server;bind%23x", headers={"Cookie": "server=if"}
               ).name == "main"  # '#' is not in the path as sent
    assert get(client, vip, path="/server;bind#x", headers={"Cookie": "server=if"}
               ).status in (400, 403)
    for path, (action, _, target) in redirects.items():
        moved = get(client, vip, path=path)
        expected = target if action == "REDIRECT_TO_URL" else target + path
        assert (moved.status, moved.headers["location"]) == (302, expected)


REFUSED: list[tuple[str, str, dict[str, Any]]] = [
    ("hm", "healthmonitor", {"url_path": "/healthz\nserver evil 10.241.0.66:80"}),
    ("hm", "healthmonitor", {"url_path": "/healthz server evil"}),
    ("hm", "healthmonitor", {"url_path": "/healthz#x"}),
    ("hm", "healthmonitor", {"url_path": "/healthz'\""}),
    ("hm", "healthmonitor", {"url_path": "healthz"}),
    ("hm", "healthmonitor", {"http_version": 1.1,
                             "domain_name": "a.example.com\nserver evil 10.241.0.66:80"}),
    ("hm", "healthmonitor", {"http_version": 1.1, "domain_name": "a.example.com x"}),
    ("hm", "healthmonitor", {"expected_codes": "200\nserver evil 10.241.0.66:80"}),
    ("hm", "healthmonitor", {"http_method": "GET / HTTP/1.1\r\nHost: evil"}),
    ("pool", "pool", {"session_persistence": {"type": "APP_COOKIE", "cookie_name": "SESS ID"}}),
    ("pool", "pool", {"session_persistence": {"type": "APP_COOKIE", "cookie_name": "a;b"}}),
    ("pool", "pool", {"session_persistence": {"type": "APP_COOKIE", "cookie_name": "a\nb"}}),
    ("pool", "pool", {"session_persistence": {"type": "APP_COOKIE",
                                              "cookie_name": "a) if TRUE"}}),
    ("pool", "pool", {"tags": ["x\nserver evil 10.241.0.66:80"]}),
    ("rule", "rule", {"value": "a b"}),
    ("rule", "rule", {"value": 'a"b'}),
    ("rule", "rule", {"value": "a'b"}),
    ("rule", "rule", {"value": "a\nb"}),
    ("rule", "rule", {"value": "a\\b"}),
    ("rule", "rule", {"key": "X Version"}),
    ("rule", "rule", {"key": "X-Version)"}),
    ("policy", "l7policy", {"redirect_url": "http://x.example.com/\nserver evil"}),
    ("listener", "listener", {"insert_headers": {"X-Forwarded-For": "true\nserver evil"}}),
    ("listener", "listener", {"insert_headers": {"X-Evil\nserver": "true"}}),
    ("listener", "listener", {"allowed_cidrs": ["10.241.0.0/24 0.0.0.0/0"]}),
    ("member", "member", {"monitor_address": "10.241.0.66 check"}),
]


def test_hostile_values_are_refused_and_leave_the_lb_unchanged(stack: Stack) -> None:
    backend(stack, "b1", 11, cookie="SESSIONID")
    backend(stack, "b2", 12, cookie="SESSIONID")
    evil = _evil_host(stack)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "session_persistence": {"type": "APP_COOKIE",
                                                 "cookie_name": "SESSIONID"},
                         "members": [member("b1", 11), member("b2", 12)],
                         "healthmonitor": FAST_HTTP_MONITOR},
        "l7policies": [{"action": "REJECT", "rules": [
            {"type": "HEADER", "key": "X-Version", "compare_type": "EQUAL_TO",
             "value": "0"}]}]}]})
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    listener_id = lb["listeners"][0]["id"]
    api = stack.api.member
    pool = api.get(f"/pools/{pool_id}").json()["pool"]
    policy_id = api.get(f"/l7policies?listener_id={listener_id}").json()["l7policies"][0]["id"]
    rule_id = api.get(f"/l7policies/{policy_id}/rules").json()["rules"][0]["id"]
    member_id = members_by_name(stack, pool_id)["b1"]
    paths = {"hm": f"/healthmonitors/{pool['healthmonitor_id']}", "pool": f"/pools/{pool_id}",
             "rule": f"/l7policies/{policy_id}/rules/{rule_id}",
             "policy": f"/l7policies/{policy_id}", "listener": f"/listeners/{listener_id}",
             "member": f"/pools/{pool_id}/members/{member_id}"}

    def snapshot() -> dict[str, Any]:
        skip = {"updated_at", "operating_status"}
        return {what: {k: v for k, v in next(iter(api.get(path).json().values())).items()
                       if k not in skip}
                for what, path in paths.items()} | {
            "lb": api.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"][
                "provisioning_status"]}

    def behaviour() -> dict[str, Any]:
        first = get(client, vip)
        session = first.headers["set-cookie"].split(";")[0]
        return {"balanced": sorted(names(client, vip, 4)) == ["b1", "b1", "b2", "b2"],
                "sticky": names(client, vip, 4, headers={"Cookie": session}) == [first.name] * 4,
                "rejected": get(client, vip, headers={"X-Version": "0"}).status,
                "allowed": get(client, vip, headers={"X-Version": "1"}).status}

    for member_name in ("b1", "b2"):
        wait_status(stack, pool_id, members_by_name(stack, pool_id)[member_name], "ONLINE")
    before, served = snapshot(), behaviour()
    assert served == {"balanced": True, "sticky": True, "rejected": 403, "allowed": 200}

    for what, key, values in REFUSED:
        r = api.put(paths[what], {key: values})
        assert r.status_code == 400, (what, values, r.status_code, r.text)
        fault = r.json()
        assert fault["faultcode"] == "Client" and fault["faultstring"], fault
    rule_post = api.post(f"/l7policies/{policy_id}/rules", {"rule": {
        "type": "PATH", "compare_type": "EQUAL_TO", "value": "/a b\nserver evil"}})
    assert rule_post.status_code == 400, rule_post.text

    assert snapshot() == before
    assert stack.wait_lb(lb["id"])["provisioning_status"] == "ACTIVE"
    assert behaviour() == served
    assert evil.log() == [] and evil.log(9999) == []


@pytest.mark.parametrize("what", ["cookie_name", "header_key", "cookie_key"])
def test_quote_in_cookie_or_header_name_is_refused_or_harmless(stack: Stack, what: str) -> None:
    backend(stack, "b1", 11)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "members": [member("b1", 11)]},
        "l7policies": [{"action": "REJECT", "rules": [
            {"type": "PATH", "compare_type": "EQUAL_TO", "value": "/blocked"}]}]}]})
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    api = stack.api.member
    policy_id = api.get(f"/l7policies?listener_id={lb['listeners'][0]['id']}"
                        ).json()["l7policies"][0]["id"]
    if what == "cookie_name":
        r = api.put(f"/pools/{pool_id}", {"pool": {"session_persistence": {
            "type": "APP_COOKIE", "cookie_name": "sess'ion"}}})
    else:
        r = api.post(f"/l7policies/{policy_id}/rules", {"rule": {
            "type": "HEADER" if what == "header_key" else "COOKIE", "key": "X'Evil",
            "compare_type": "EQUAL_TO", "value": "1"}})

    # Either refused, or accepted and working; never a load balancer in ERROR.
    assert r.status_code in (400, 200, 201), r.text
    assert stack.wait_lb(lb["id"])["provisioning_status"] == "ACTIVE"
    assert get(client, vip).name == "b1"
    assert get(client, vip, path="/blocked").status == 403
