"""Octavia's API rules of PROMETHEUS listeners (API 2.25), on both providers: no default pool, no
pools, no L7 policies (``Protocol PROMETHEUS listeners cannot have child objects.``), no
insert_headers; allowed_cidrs, connection_limit and the timeouts are taken, and, with a
certificate, the TLS attributes."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.services.tree import build_tree
from tests.functional.harness import Api
from tests.tls_material import Authority

NO_CHILDREN = "Protocol PROMETHEUS listeners cannot have child objects."
POOL = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}
PROVIDERS = ["noop", "haproxy"]


def lb_on(api: Api, provider: str) -> str:
    """An ACTIVE load balancer of ``provider`` (built by noop; a haproxy one is then marked as
    the provider's, as if an agent had built it: the rules are checked before any agent)."""
    return as_provider(api, str(api.create_lb(provider="noop")["id"]), provider)


def as_provider(api: Api, lb_id: str, provider: str) -> str:
    with write_session(api.services.sessions) as session:
        row = session.get(models.LoadBalancer, lb_id)
        assert row is not None
        row.provider = provider
    return lb_id


def prometheus_listener(api: Api, lb_id: str, **attrs: Any) -> Any:
    return api.member.post("/listeners", {"listener": {
        "loadbalancer_id": lb_id, "protocol": "PROMETHEUS", "protocol_port": 9100, **attrs}})


def refused(answer: Any, text: str) -> None:
    assert answer.status_code == 400, answer.text
    assert text in answer.json()["faultstring"], answer.text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_prometheus_listener_is_accepted_with_its_settings(sqlite_api: Api,
                                                              provider: str) -> None:
    api = sqlite_api
    lb_id = lb_on(api, provider)
    settings = {"connection_limit": 50, "allowed_cidrs": ["10.9.0.0/16"],
                "timeout_client_data": 2000, "timeout_member_connect": 1500,
                "timeout_member_data": 2500, "timeout_tcp_inspect": 100}
    answer = prometheus_listener(api, lb_id, **settings)
    assert answer.status_code == 201, answer.text
    shown = answer.json()["listener"]
    assert shown["protocol"] == "PROMETHEUS" and shown["default_pool_id"] is None
    assert {key: shown[key] for key in settings} == settings


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_prometheus_listener_has_no_children(sqlite_api: Api, provider: str) -> None:
    api = sqlite_api
    lb_id = lb_on(api, "noop")
    pool = api.member.post("/pools", {"pool": {**POOL, "loadbalancer_id": lb_id}})
    assert pool.status_code == 201, pool.text
    pool_id = pool.json()["pool"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{lb_id}", "loadbalancer")

    refused(prometheus_listener(api, lb_id, default_pool_id=pool_id), NO_CHILDREN)
    listener = prometheus_listener(api, lb_id)
    assert listener.status_code == 201, listener.text
    listener_id = listener.json()["listener"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{lb_id}", "loadbalancer")
    as_provider(api, lb_id, provider)

    refused(api.member.put(f"/listeners/{listener_id}",
                           {"listener": {"default_pool_id": pool_id}}), NO_CHILDREN)
    refused(api.member.post("/pools", {"pool": {**POOL, "listener_id": listener_id}}),
            NO_CHILDREN)
    refused(api.member.post("/l7policies", {"l7policy": {
        "listener_id": listener_id, "action": "REJECT"}}), NO_CHILDREN)
    refused(api.member.put(f"/listeners/{listener_id}", {"listener": {
        "insert_headers": {"X-Forwarded-For": "true"}}}), "insert_headers")
    shown = api.member.get(f"/listeners/{listener_id}").json()["listener"]
    assert shown["default_pool_id"] is None and shown["l7policies"] == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_single_call_create_refuses_children_of_a_prometheus_listener(
        sqlite_api: Api, provider: str) -> None:
    api = sqlite_api
    for extra in ({"default_pool": POOL},
                  {"l7policies": [{"action": "REJECT", "rules": [
                      {"type": "PATH", "compare_type": "EQUAL_TO", "value": "/x"}]}]}):
        listener = {"protocol": "PROMETHEUS", "protocol_port": 9100, **extra}
        answer = api.member.post("/loadbalancers", {"loadbalancer": {
            "vip_subnet_id": api.subnet_id, "provider": "noop", "listeners": [listener]}})
        refused(answer, NO_CHILDREN)
    assert api.member.get("/loadbalancers").json()["loadbalancers"] == []


def test_a_prometheus_listener_with_a_certificate_terminates_tls(sqlite_api: Api) -> None:
    """As in Octavia: given a certificate, a PROMETHEUS listener takes the TLS attributes (its
    metrics over HTTPS); without one they would not apply and are refused."""
    api = sqlite_api
    lb_id = lb_on(api, "haproxy")
    refused(prometheus_listener(api, lb_id, tls_versions=["TLSv1.3"]),
            "tls_versions may only be set on TERMINATED_HTTPS listeners, not on PROMETHEUS "
            "listeners without a certificate.")
    answer = api.client.post("/key-manager/v1/secrets", headers={
        "X-Auth-Token": api.member.token}, json={
        "name": "metrics", "payload": base64.b64encode(
            Authority.create().issue("metrics.example").pkcs12()).decode(),
        "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"})
    assert answer.status_code == 201, answer.text
    ref = answer.json()["secret_ref"]
    listener = prometheus_listener(api, lb_id, default_tls_container_ref=ref,
                                   tls_versions=["TLSv1.3"])
    assert listener.status_code == 201, listener.text
    shown = listener.json()["listener"]
    assert (shown["default_tls_container_ref"], shown["tls_versions"]) == (ref, ["TLSv1.3"])
    with read_session(api.services.sessions) as session:
        row = session.get(models.LoadBalancer, lb_id)
        assert row is not None
        tree = build_tree(session, row, api.services.secrets)
    [node] = [li for li in tree.listeners if li.protocol == "PROMETHEUS"]
    assert node.default_tls is not None and "BEGIN CERTIFICATE" in node.default_tls.certificate
