"""Listeners, pools, members, health monitors, L7 policies and rules: lifecycle and rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.harness import Api, wait_for
from tests.functional.tree import create_tree


def _active(api: Api, lb_id: str) -> None:
    api.wait_active(api.member, f"/loadbalancers/{lb_id}", "loadbalancer")


def test_listener_pool_member_monitor_lifecycle(api: Api) -> None:
    lb = api.create_lb()
    m = api.member
    r = m.post("/listeners", {"listener": {"loadbalancer_id": lb["id"], "protocol": "HTTP",
                                           "protocol_port": 80, "name": "web",
                                           "insert_headers": {"X-Forwarded-For": "true"},
                                           "allowed_cidrs": ["10.0.0.0/8"]}})
    assert r.status_code == 201, r.text
    listener = r.json()["listener"]
    assert listener["timeout_client_data"] == 50000 and listener["connection_limit"] == -1
    assert listener["loadbalancers"] == [{"id": lb["id"]}]
    _active(api, lb["id"])
    r = m.post("/pools", {"pool": {"listener_id": listener["id"], "protocol": "HTTP",
                                   "lb_algorithm": "SOURCE_IP_PORT",
                                   "session_persistence": {"type": "APP_COOKIE",
                                                           "cookie_name": "SID"}}})
    assert r.status_code == 201, r.text
    pool = r.json()["pool"]
    assert pool["listeners"] == [{"id": listener["id"]}]
    _active(api, lb["id"])
    assert m.get(f"/listeners/{listener['id']}").json()["listener"]["default_pool_id"] == \
        pool["id"]
    r = m.post(f"/pools/{pool['id']}/members", {"member": {
        "address": "10.20.1.5", "protocol_port": 8080, "weight": 0, "backup": True,
        "monitor_port": 9000}})
    assert r.status_code == 201, r.text
    member = r.json()["member"]
    assert member["weight"] == 0 and member["backup"] is True
    _active(api, lb["id"])
    r = m.post(f"/pools/{pool['id']}/members", {"member": {"address": "10.20.1.5",
                                                           "protocol_port": 8080}})
    assert r.status_code == 409
    r = m.post("/healthmonitors", {"healthmonitor": {"pool_id": pool["id"], "type": "HTTP",
                                                     "delay": 5, "timeout": 3,
                                                     "max_retries": 3}})
    assert r.status_code == 201, r.text
    hm = r.json()["healthmonitor"]
    assert (hm["http_method"], hm["url_path"], hm["expected_codes"], hm["max_retries_down"]) \
        == ("GET", "/", "200", 3)
    _active(api, lb["id"])
    r = m.post("/healthmonitors", {"healthmonitor": {"pool_id": pool["id"], "type": "TCP",
                                                     "delay": 5, "timeout": 3,
                                                     "max_retries": 3}})
    assert r.status_code == 409
    # weight 0 with a monitor: the member is DRAINING
    member = m.get(f"/pools/{pool['id']}/members/{member['id']}").json()["member"]
    assert member["operating_status"] == "DRAINING"
    r = m.put(f"/healthmonitors/{hm['id']}", {"healthmonitor": {"url_path": "/health",
                                                                "expected_codes": "200-204"}})
    assert r.status_code == 200, r.text
    _active(api, lb["id"])
    r = m.put(f"/pools/{pool['id']}/members/{member['id']}", {"member": {"weight": 256}})
    assert r.status_code == 200
    _active(api, lb["id"])
    for path in (f"/healthmonitors/{hm['id']}", f"/pools/{pool['id']}/members/{member['id']}",
                 f"/pools/{pool['id']}", f"/listeners/{listener['id']}"):
        assert m.delete(path).status_code == 204, path
        _active(api, lb["id"])
        assert m.get(path).status_code == 404, path


def test_every_single_object_put_answers_200_with_the_object(api: Api) -> None:
    """As in Octavia, an update of one object answers 200 (not 202) with its new state; only
    the batch member update (and failover) answer 202, without a body."""
    ids = create_tree(api)
    admin = api.admin
    profile = admin.post("/flavorprofiles", {"flavorprofile": {
        "name": "put-200", "provider_name": "noop", "flavor_data": "{}"}}).json()["flavorprofile"]
    flavor = admin.post("/flavors", {"flavor": {
        "name": "put-200", "flavor_profile_id": profile["id"]}}).json()["flavor"]
    updates = [
        (api.member, f"/loadbalancers/{ids['lb']}", "loadbalancer"),
        (api.member, f"/listeners/{ids['listener']}", "listener"),
        (api.member, f"/pools/{ids['pool']}", "pool"),
        (api.member, f"/pools/{ids['pool']}/members/{ids['members'][0]}", "member"),
        (api.member, f"/healthmonitors/{ids['hm']}", "healthmonitor"),
        (api.member, f"/l7policies/{ids['l7policy']}", "l7policy"),
        (api.member, f"/l7policies/{ids['l7policy']}/rules/{ids['l7rule']}", "rule"),
        (admin, f"/flavorprofiles/{profile['id']}", "flavorprofile"),
        (admin, f"/flavors/{flavor['id']}", "flavor"),
    ]
    for caller, path, key in updates:
        field = "description" if key in ("loadbalancer", "flavor") else "tags"
        value: Any = "updated" if field == "description" else ["updated"]
        if key == "flavorprofile":
            field, value = "name", "put-200-renamed"
        r = caller.put(path, {key: {field: value}})
        assert r.status_code == 200, (path, r.text)
        assert r.json()[key][field] == value, path
        _active(api, ids["lb"])
    r = api.member.put(f"/pools/{ids['pool']}/members", {"members": [
        {"address": "10.20.1.1", "protocol_port": 8080}]})
    assert r.status_code == 202 and r.content == b"", r.text


def test_a_monitor_timeout_may_exceed_its_delay(api: Api) -> None:
    """Octavia sets no order between delay and timeout: both are stored as given, on create
    and on update (HAProxy checks every ``delay`` seconds, each check bounded by ``timeout``)."""
    ids = create_tree(api)
    m = api.member
    r = m.put(f"/healthmonitors/{ids['hm']}", {"healthmonitor": {"delay": 2, "timeout": 3}})
    assert r.status_code == 200, r.text
    assert (r.json()["healthmonitor"]["delay"], r.json()["healthmonitor"]["timeout"]) == (2, 3)
    _active(api, ids["lb"])
    assert m.delete(f"/healthmonitors/{ids['hm']}").status_code == 204
    _active(api, ids["lb"])
    r = m.post("/healthmonitors", {"healthmonitor": {"pool_id": ids["pool"], "type": "TCP",
                                                     "delay": 2, "timeout": 3,
                                                     "max_retries": 3}})
    assert r.status_code == 201, r.text
    hm = r.json()["healthmonitor"]
    assert (hm["delay"], hm["timeout"]) == (2, 3)
    _active(api, ids["lb"])
    r = m.put(f"/healthmonitors/{hm['id']}", {"healthmonitor": {"timeout": 30}})
    assert r.status_code == 200, r.text
    assert m.get(f"/healthmonitors/{hm['id']}").json()["healthmonitor"]["timeout"] == 30


def test_a_pool_no_listener_uses_is_offline(api: Api) -> None:
    """As in Octavia: once ACTIVE, a pool on the load balancer alone stays OFFLINE (nothing
    serves it), and goes ONLINE when a listener takes it as default pool, even without members;
    the load balancer and its listener stay ONLINE throughout."""
    lb = api.create_lb()
    m = api.member
    r = m.post("/listeners", {"listener": {"loadbalancer_id": lb["id"], "protocol": "HTTP",
                                           "protocol_port": 80}})
    assert r.status_code == 201, r.text
    listener = r.json()["listener"]
    _active(api, lb["id"])
    r = m.post("/pools", {"pool": {"loadbalancer_id": lb["id"], "protocol": "HTTP",
                                   "lb_algorithm": "ROUND_ROBIN"}})
    assert r.status_code == 201, r.text
    pool = r.json()["pool"]
    assert pool["operating_status"] == "OFFLINE"
    _active(api, lb["id"])
    shown = m.get(f"/pools/{pool['id']}").json()["pool"]
    assert (shown["provisioning_status"], shown["operating_status"]) == ("ACTIVE", "OFFLINE")
    assert m.get(f"/listeners/{listener['id']}").json()["listener"]["operating_status"] == \
        "ONLINE"
    assert m.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]["operating_status"] == \
        "ONLINE"
    r = m.put(f"/listeners/{listener['id']}", {"listener": {"default_pool_id": pool["id"]}})
    assert r.status_code == 200, r.text
    _active(api, lb["id"])
    assert m.get(f"/pools/{pool['id']}").json()["pool"]["operating_status"] == "ONLINE"
    r = m.put(f"/listeners/{listener['id']}", {"listener": {"default_pool_id": None}})
    assert r.status_code == 200, r.text
    _active(api, lb["id"])
    assert m.get(f"/pools/{pool['id']}").json()["pool"]["operating_status"] == "OFFLINE"


def test_batch_member_update(api: Api) -> None:
    ids = create_tree(api)
    pool = ids["pool"]
    body = {"members": [{"address": "10.20.1.1", "protocol_port": 8080, "weight": 7},
                        {"address": "10.20.1.3", "protocol_port": 8080}]}
    r = api.member.put(f"/pools/{pool}/members", body)
    assert r.status_code == 202
    _active(api, ids["lb"])
    members = api.member.get(f"/pools/{pool}/members").json()["members"]
    assert sorted((mm["address"], mm["weight"]) for mm in members) == \
        [("10.20.1.1", 7), ("10.20.1.3", 1)]
    r = api.member.put(f"/pools/{pool}/members?additive_only=true",
                       {"members": [{"address": "10.20.1.4", "protocol_port": 8080}]})
    assert r.status_code == 202
    _active(api, ids["lb"])
    assert len(api.member.get(f"/pools/{pool}/members").json()["members"]) == 3
    r = api.member.put(f"/pools/{pool}/members", {"members": [
        {"address": "10.20.1.9", "protocol_port": 1}, {"address": "10.20.1.9",
                                                        "protocol_port": 1}]})
    assert r.status_code == 409


def test_l7_policies_and_rules(api: Api) -> None:
    ids = create_tree(api)
    m = api.member
    r = m.post("/l7policies", {"l7policy": {"listener_id": ids["listener"],
                                            "action": "REDIRECT_TO_URL",
                                            "redirect_url": "https://example.com/new",
                                            "position": 1}})
    assert r.status_code == 201, r.text
    policy = r.json()["l7policy"]
    assert policy["redirect_http_code"] == 302 and policy["position"] == 1
    _active(api, ids["lb"])
    assert m.get(f"/l7policies/{ids['l7policy']}").json()["l7policy"]["position"] == 2
    r = m.post(f"/l7policies/{policy['id']}/rules", {"rule": {
        "type": "HEADER", "compare_type": "EQUAL_TO", "key": "X-Env", "value": "beta"}})
    assert r.status_code == 201, r.text
    rule = r.json()["rule"]
    _active(api, ids["lb"])
    r = m.put(f"/l7policies/{policy['id']}/rules/{rule['id']}", {"rule": {"invert": True}})
    assert r.status_code == 200
    _active(api, ids["lb"])
    r = m.put(f"/l7policies/{policy['id']}", {"l7policy": {
        "action": "REDIRECT_TO_POOL", "redirect_pool_id": ids["pool"]}})
    assert r.status_code == 200, r.text
    body = r.json()["l7policy"]
    assert body["redirect_url"] is None and body["redirect_pool_id"] == ids["pool"]
    _active(api, ids["lb"])
    assert m.delete(f"/pools/{ids['pool']}").status_code == 409  # used by the policy
    r = m.get(f"/pools/{ids['pool']}")
    assert {"id": ids["listener"]} in r.json()["pool"]["listeners"]


BAD_LISTENERS: list[tuple[dict[str, Any], str]] = [
    ({"protocol": "HTTP", "protocol_port": 0}, "protocol_port"),
    ({"protocol": "HTTP", "protocol_port": 65536}, "protocol_port"),
    ({"protocol": "FTP", "protocol_port": 21}, "protocol"),
    ({"protocol": "HTTP", "protocol_port": 81, "connection_limit": -2}, "connection_limit"),
    ({"protocol": "HTTP", "protocol_port": 81, "timeout_client_data": 2073600001},
     "timeout_client_data"),
    ({"protocol": "HTTP", "protocol_port": 81, "insert_headers": {"X-Evil": "true"}},
     "X-Evil"),
    ({"protocol": "HTTP", "protocol_port": 81, "insert_headers": {"X-Forwarded-For": "yes\n"}},
     "X-Forwarded-For"),
    ({"protocol": "TCP", "protocol_port": 81, "insert_headers": {"X-Forwarded-For": "true"}},
     "insert_headers"),
    ({"protocol": "HTTP", "protocol_port": 81, "allowed_cidrs": ["10.0.0.0/33"]},
     "allowed_cidrs"),
    ({"protocol": "HTTP", "protocol_port": 81, "allowed_cidrs": ["2001:db8::/32"]},
     "IP version"),
    ({"protocol": "TERMINATED_HTTPS", "protocol_port": 443}, "SNI or default certificate"),
    ({"protocol": "HTTP", "protocol_port": 81, "tls_ciphers": "ALL"}, "TERMINATED_HTTPS"),
    ({"protocol": "HTTP", "protocol_port": 80}, "already"),
]


@pytest.mark.parametrize(("attrs", "mentions"), BAD_LISTENERS)
def test_bad_listener_is_rejected_with_reason(sqlite_api: Api, attrs: dict[str, Any],
                                              mentions: str) -> None:
    ids = create_tree(sqlite_api)
    r = sqlite_api.member.post("/listeners", {"listener": {"loadbalancer_id": ids["lb"],
                                                           **attrs}})
    assert r.status_code in (400, 409), r.text
    assert mentions in r.json()["faultstring"]


BAD_POOLS: list[tuple[dict[str, Any], str]] = [
    ({"protocol": "HTTP", "lb_algorithm": "RANDOM"}, "lb_algorithm"),
    ({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
      "session_persistence": {"type": "APP_COOKIE"}}, "cookie_name is required"),
    ({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
      "session_persistence": {"type": "HTTP_COOKIE", "cookie_name": "x"}}, "only allowed"),
    ({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
      "session_persistence": {"type": "APP_COOKIE", "cookie_name": "a b"}}, "cookie name"),
    ({"protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
      "session_persistence": {"type": "HTTP_COOKIE"}}, "HTTP or HTTPS pool"),
    ({"protocol": "UDP", "lb_algorithm": "ROUND_ROBIN", "use_listener": True},
     "cannot be used by a HTTP listener"),
]


@pytest.mark.parametrize(("attrs", "mentions"), BAD_POOLS)
def test_bad_pool_is_rejected_with_reason(sqlite_api: Api, attrs: dict[str, Any],
                                          mentions: str) -> None:
    lb = sqlite_api.create_lb()
    parent: dict[str, Any] = {"loadbalancer_id": lb["id"]}
    if attrs.pop("use_listener", False):
        r = sqlite_api.member.post("/listeners", {"listener": {
            "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80}})
        sqlite_api.wait_active(sqlite_api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
        parent = {"listener_id": r.json()["listener"]["id"]}
    r = sqlite_api.member.post("/pools", {"pool": {**parent, **attrs}})
    assert r.status_code == 400, r.text
    assert mentions in r.json()["faultstring"]


BAD_MONITORS: list[tuple[dict[str, Any], str]] = [
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 11}, "max_retries"),
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 0}, "max_retries"),
    ({"type": "HTTP", "delay": 5, "timeout": 2**31, "max_retries": 3}, "timeout"),
    ({"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3, "url_path": "/"},
     "url_path"),
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3, "url_path": "health"},
     "url_path"),
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3,
      "url_path": "/a\nhttp-check disable"}, "url_path"),
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3, "expected_codes": "2xx"},
     "expected_codes"),
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3, "http_method": "FETCH"},
     "http_method"),
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3, "domain_name": "a.com"},
     "http_version 1.1"),
    ({"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3, "http_version": 1.1,
      "domain_name": "bad domain"}, "domain_name"),
    ({"type": "UDP-CONNECT", "delay": 5, "timeout": 3, "max_retries": 3}, "UDP"),
]


@pytest.mark.parametrize(("attrs", "mentions"), BAD_MONITORS)
def test_bad_monitor_is_rejected_with_reason(sqlite_api: Api, attrs: dict[str, Any],
                                             mentions: str) -> None:
    lb = sqlite_api.create_lb()
    r = sqlite_api.member.post("/pools", {"pool": {"loadbalancer_id": lb["id"],
                                                   "protocol": "HTTP",
                                                   "lb_algorithm": "ROUND_ROBIN"}})
    sqlite_api.wait_active(sqlite_api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    r = sqlite_api.member.post("/healthmonitors", {"healthmonitor": {
        "pool_id": r.json()["pool"]["id"], **attrs}})
    assert r.status_code == 400, r.text
    assert mentions in r.json()["faultstring"]


BAD_MEMBERS: list[tuple[dict[str, Any], str]] = [
    ({"address": "10.0.0.1", "protocol_port": 80, "weight": 257}, "weight"),
    ({"address": "10.0.0.1", "protocol_port": 80, "weight": -1}, "weight"),
    ({"address": "not-an-ip", "protocol_port": 80}, "address"),
    ({"address": "10.0.0.1", "protocol_port": 80, "monitor_address": "x"}, "monitor_address"),
    ({"address": "10.0.0.1"}, "protocol_port"),
]


@pytest.mark.parametrize(("attrs", "mentions"), BAD_MEMBERS)
def test_bad_member_is_rejected_with_reason(sqlite_api: Api, attrs: dict[str, Any],
                                            mentions: str) -> None:
    ids = create_tree(sqlite_api)
    r = sqlite_api.member.post(f"/pools/{ids['pool']}/members", {"member": attrs})
    assert r.status_code == 400, r.text
    assert mentions in r.json()["faultstring"]


BAD_RULES: list[tuple[dict[str, Any], str]] = [
    ({"type": "HEADER", "compare_type": "EQUAL_TO", "value": "x"}, "key"),
    ({"type": "PATH", "compare_type": "EQUAL_TO", "value": "/a b"}, "whitespace"),
    ({"type": "PATH", "compare_type": "EQUAL_TO", "value": "/a\"b"}, "quotes"),
    ({"type": "PATH", "compare_type": "REGEX", "value": "(("}, "regular expression"),
    ({"type": "FILE_TYPE", "compare_type": "CONTAINS", "value": "jpg"}, "FILE_TYPE"),
    ({"type": "PATH", "compare_type": "LIKE", "value": "/x"}, "compare_type"),
    ({"type": "COOKIE", "compare_type": "EQUAL_TO", "key": "a;b", "value": "x"}, "key"),
]


@pytest.mark.parametrize(("attrs", "mentions"), BAD_RULES)
def test_bad_l7rule_is_rejected_with_reason(sqlite_api: Api, attrs: dict[str, Any],
                                            mentions: str) -> None:
    ids = create_tree(sqlite_api)
    r = sqlite_api.member.post(f"/l7policies/{ids['l7policy']}/rules", {"rule": attrs})
    assert r.status_code == 400, r.text
    assert mentions in r.json()["faultstring"]


def test_l7policy_rules(sqlite_api: Api) -> None:
    ids = create_tree(sqlite_api)
    m = sqlite_api.member
    for body, mentions in (
            ({"action": "REDIRECT_TO_URL"}, "redirect_url"),
            ({"action": "REJECT", "redirect_url": "http://x/"}, "not allowed"),
            ({"action": "REDIRECT_TO_URL", "redirect_url": "http://x/\nfoo"}, "redirect_url"),
            ({"action": "REDIRECT_TO_URL", "redirect_url": "http://x/",
              "redirect_http_code": 200}, "redirect_http_code")):
        r = m.post("/l7policies", {"l7policy": {"listener_id": ids["listener"], **body}})
        assert r.status_code == 400, (body, r.text)
        assert mentions in r.json()["faultstring"], body
    tcp = m.post("/listeners", {"listener": {"loadbalancer_id": ids["lb"], "protocol": "TCP",
                                             "protocol_port": 9000}}).json()["listener"]
    wait_for(lambda: m.get(f"/loadbalancers/{ids['lb']}").json()["loadbalancer"]
             ["provisioning_status"], lambda s: s == "ACTIVE")
    r = m.post("/l7policies", {"l7policy": {"listener_id": tcp["id"], "action": "REJECT"}})
    assert r.status_code == 400
    assert "HTTP or TERMINATED_HTTPS" in r.json()["faultstring"]
