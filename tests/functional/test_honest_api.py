"""Every attribute a tenant may set on a load balancer's tree is, per provider, either applied or
refused with 400 naming the field (and, for a provider's own limits, the provider): never
accepted and ignored.

The walk covers every field of the create schemas (a new field without a row here fails
:func:`test_every_request_attribute_has_a_row`). For each sample, a single-call create of a
small tree sets the attribute on one object; "applied" is shown for the haproxy provider by the
rendered haproxy.cfg: the tree with the attribute, built from the database exactly as an agent
receives it, renders differently from the same tree without it. Metadata (names, descriptions,
tags) is not configuration: it is shown back by the API. Placement attributes (VIP, subnet,
flavor, provider, availability zone) choose where an object lives and are tested with their
features.

One deliberate exception, for compatibility with Octavia (docs/compatibility.md): the
``timeout_*`` attributes of a UDP or SCTP listener are accepted and stored although none applies
(:func:`test_the_one_exception_timeouts_of_a_udp_or_sctp_listener`).
"""

from __future__ import annotations

import base64
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.tls_files import plan_tls_files
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from lbaas.schemas.healthmonitor import HealthMonitorGraph
from lbaas.schemas.l7 import L7PolicyGraph, L7RuleCreate
from lbaas.schemas.listener import ListenerGraph
from lbaas.schemas.loadbalancer import LoadBalancerCreate
from lbaas.schemas.member import MemberCreate
from lbaas.schemas.pool import PoolGraph, SessionPersistence
from lbaas.services.capabilities import CHILDREN, REFERENCES
from lbaas.services.tree import build_tree
from tests.functional.harness import Api, wait_for
from tests.functional.test_availability_zone_scheduling import report, zone
from tests.tls_material import Authority

APPLIED, META, REFUSED, REFUSED_BY_HAPROXY = "applied", "metadata", "400", "400 from haproxy"

SCHEMAS: dict[str, type[BaseModel]] = {
    "loadbalancer": LoadBalancerCreate, "listener": ListenerGraph, "pool": PoolGraph,
    "session_persistence": SessionPersistence, "member": MemberCreate,
    "healthmonitor": HealthMonitorGraph, "l7policy": L7PolicyGraph, "rule": L7RuleCreate,
}
PLACEMENT = {
    # availability_zone: the agents that may host the load balancer and its allowed VIP
    # networks (test_an_availability_zone_is_applied_by_placement, test_availability_zone*.py)
    "loadbalancer": {"provider", "flavor_id", "vip_address", "vip_network_id", "vip_port_id",
                     "vip_subnet_id", "availability_zone"},
    "listener": {"default_pool_id"}, "member": {"subnet_id"}, "l7policy": {"redirect_pool_id"},
}
UUID = "3f6d1f2c-6b7e-4c4f-9a53-2d1f0e9b8a70"


@dataclass(frozen=True)
class Sample:
    """Set ``values`` on the ``where`` object of the base tree (which first gets ``base``);
    ``outcome`` is what a haproxy load balancer does with it (noop: META and APPLIED are
    accepted, REFUSED is refused, REFUSED_BY_HAPROXY is accepted)."""

    where: str
    attribute: str
    values: dict[str, Any]
    outcome: str
    base: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        value = self.values.get(self.attribute, self.values)
        return f"{self.where}.{self.attribute}={value!r}"[:70]


def s(where: str, attribute: str, value: Any, outcome: str = APPLIED, *,
      extra: dict[str, Any] | None = None, base: dict[str, Any] | None = None) -> Sample:
    return Sample(where, attribute, {attribute: value, **(extra or {})}, outcome, base or {})


NO_POOL = {"default_pool": None, "l7policies": []}
TLS = {**NO_POOL, "protocol": "TERMINATED_HTTPS", "default_tls_container_ref": "@cert"}
TLS_CA = {**TLS, "client_ca_tls_container_ref": "@ca", "client_authentication": "MANDATORY"}
PROMETHEUS = {**NO_POOL, "protocol": "PROMETHEUS"}
POOL_TLS = {"tls_enabled": True}
SOURCE_IP = {"session_persistence": {"type": "SOURCE_IP"}}

SAMPLES = [
    s("loadbalancer", "admin_state_up", False),
    s("loadbalancer", "name", "shop", META),
    s("loadbalancer", "description", "the shop", META),
    s("loadbalancer", "tags", ["blue"], META),
    s("loadbalancer", "vip_qos_policy_id", UUID, REFUSED_BY_HAPROXY),
    s("loadbalancer", "additional_vips", [{"subnet_id": UUID}], REFUSED),
    s("listener", "admin_state_up", False),
    s("listener", "name", "web", META),
    s("listener", "description", "front", META),
    s("listener", "tags", ["blue"], META),
    s("listener", "protocol", "TCP", base=NO_POOL),
    s("listener", "protocol", "UDP", REFUSED_BY_HAPROXY, base=NO_POOL),
    s("listener", "protocol", "PROMETHEUS", base=NO_POOL),
    s("listener", "protocol", "TERMINATED_HTTPS", base=NO_POOL,
      extra={"default_tls_container_ref": "@cert"}),
    s("listener", "protocol_port", 8080),
    s("listener", "connection_limit", 100),
    s("listener", "allowed_cidrs", ["10.1.0.0/16"]),
    s("listener", "lbaas:access_log", False),
    s("listener", "insert_headers", {"X-Forwarded-For": "true"}),
    s("listener", "insert_headers", {"X-SSL-Client-DN": "true"}, base=TLS),
    s("listener", "timeout_client_data", 1000),
    s("listener", "timeout_member_connect", 1000),
    s("listener", "timeout_member_data", 1000),
    s("listener", "timeout_tcp_inspect", 1000),
    # A PROMETHEUS listener's member timeouts are those of its backend, the agent's socket.
    s("listener", "timeout_member_connect", 1500, base=PROMETHEUS),
    s("listener", "timeout_member_data", 1500, base=PROMETHEUS),
    s("listener", "allowed_cidrs", ["10.2.0.0/16"], base=PROMETHEUS),
    s("listener", "default_tls_container_ref", "@cert", base=PROMETHEUS),  # HTTPS, as Octavia
    s("listener", "default_tls_container_ref", "@cert2", base=TLS),
    s("listener", "sni_container_refs", ["@cert2"], base=TLS),
    s("listener", "client_ca_tls_container_ref", "@ca2", base=TLS_CA),
    s("listener", "client_crl_container_ref", "@crl", base=TLS_CA),
    s("listener", "client_authentication", "OPTIONAL", base=TLS_CA),
    s("listener", "client_authentication", "NONE", REFUSED, base=TLS_CA),
    s("listener", "tls_ciphers", "ECDHE-RSA-AES128-GCM-SHA256", base=TLS),
    s("listener", "tls_versions", ["TLSv1.2"], base=TLS),
    s("listener", "alpn_protocols", ["h2"], base=TLS),
    s("listener", "hsts_max_age", 3600, base=TLS),
    s("listener", "hsts_include_subdomains", True, base={**TLS, "hsts_max_age": 3600}),
    s("listener", "hsts_preload", True, base={**TLS, "hsts_max_age": 3600}),
    s("pool", "admin_state_up", False),
    s("pool", "name", "web", META),
    s("pool", "description", "backends", META),
    s("pool", "tags", ["blue"], META),
    s("pool", "protocol", "PROXY"),
    s("pool", "lb_algorithm", "LEAST_CONNECTIONS"),
    s("pool", "session_persistence", {"type": "HTTP_COOKIE"}),
    s("pool", "tls_enabled", True),
    s("pool", "tls_container_ref", "@client", base=POOL_TLS),
    s("pool", "ca_tls_container_ref", "@ca", base=POOL_TLS),
    s("pool", "crl_container_ref", "@crl", base={**POOL_TLS, "ca_tls_container_ref": "@ca"}),
    s("pool", "tls_ciphers", "ECDHE-RSA-AES128-GCM-SHA256", base=POOL_TLS),
    s("pool", "tls_versions", ["TLSv1.2"], base=POOL_TLS),
    s("pool", "alpn_protocols", ["h2"], base=POOL_TLS),
    s("pool", "lbaas:slow_start", 10),
    # applied by the agent, which reads it from the backend's "# lbaas:drain_timeout" line
    s("pool", "lbaas:drain_timeout", 30),
    s("session_persistence", "type", "SOURCE_IP", base={"type": "HTTP_COOKIE"}),
    s("session_persistence", "cookie_name", "b", base={"type": "APP_COOKIE", "cookie_name": "a"}),
    s("session_persistence", "persistence_timeout", 99, base={"type": "SOURCE_IP"}),
    s("session_persistence", "persistence_granularity", "255.255.255.0", REFUSED_BY_HAPROXY,
      base={"type": "SOURCE_IP"}),
    s("member", "admin_state_up", False),
    s("member", "name", "web1", META),
    s("member", "tags", ["blue"], META),
    s("member", "address", "10.20.1.9"),
    s("member", "protocol_port", 8081),
    s("member", "weight", 5),
    s("member", "backup", True),
    s("member", "monitor_address", "10.20.1.50"),
    s("member", "monitor_port", 9000),
    s("healthmonitor", "admin_state_up", False),
    s("healthmonitor", "name", "check", META),
    s("healthmonitor", "tags", ["blue"], META),
    s("healthmonitor", "type", "TCP"),
    s("healthmonitor", "type", "UDP-CONNECT", REFUSED),  # UDP pools only
    s("healthmonitor", "delay", 7),
    s("healthmonitor", "delay", 0, REFUSED_BY_HAPROXY, extra={"timeout": 0}),
    s("healthmonitor", "timeout", 1),
    s("healthmonitor", "timeout", 0, REFUSED_BY_HAPROXY),
    s("healthmonitor", "max_retries", 5),
    s("healthmonitor", "max_retries_down", 5),
    s("healthmonitor", "http_method", "HEAD"),
    s("healthmonitor", "url_path", "/health"),
    s("healthmonitor", "expected_codes", "201"),
    s("healthmonitor", "http_version", 1.1),
    s("healthmonitor", "domain_name", "shop.example", base={"http_version": 1.1}),
    s("l7policy", "admin_state_up", False),
    s("l7policy", "name", "block", META),
    s("l7policy", "description", "block it", META),
    s("l7policy", "tags", ["blue"], META),
    s("l7policy", "action", "REJECT", extra={"redirect_url": None}),
    s("l7policy", "redirect_url", "http://b.example/"),
    s("l7policy", "redirect_prefix", "http://c.example",
      base={"action": "REDIRECT_PREFIX", "redirect_url": None,
            "redirect_prefix": "http://b.example"}),
    s("l7policy", "redirect_http_code", 301),
    s("second l7policy", "position", 1),
    s("rule", "admin_state_up", False),
    s("rule", "tags", ["blue"], META),
    s("rule", "type", "PATH", extra={"key": None}),
    s("rule", "type", "SSL_DN_FIELD", extra={"key": "CN"}),
    s("rule", "compare_type", "STARTS_WITH"),
    s("rule", "key", "X-B"),
    s("rule", "value", "b"),
    s("rule", "invert", True),
]


def base_tree() -> dict[str, Any]:
    """A load balancer with every kind of object, as the single-call create takes it. The
    listener has two L7 policies so that a policy's position changes their order."""

    def policy(url: str) -> dict[str, Any]:
        return {"action": "REDIRECT_TO_URL", "redirect_url": url,
                "rules": [{"type": "HEADER", "compare_type": "EQUAL_TO", "key": "X-A",
                           "value": url[7]}]}

    pool = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [{"address": "10.20.1.1", "protocol_port": 8080},
                        {"address": "10.20.1.2", "protocol_port": 8080}],
            "healthmonitor": {"type": "HTTP", "delay": 3, "timeout": 2, "max_retries": 2}}
    listener = {"protocol": "HTTP", "protocol_port": 80, "default_pool": pool,
                "l7policies": [policy("http://a.example/"), policy("http://z.example/")]}
    return {"listeners": [listener]}


def place(tree: dict[str, Any], where: str) -> dict[str, Any]:
    """The object ``where`` names in ``tree`` (created on the way for session_persistence)."""
    listener = tree["listeners"][0]
    pool = listener["default_pool"]
    return {
        "loadbalancer": lambda: tree, "listener": lambda: listener, "pool": lambda: pool,
        "session_persistence": lambda: pool.setdefault("session_persistence", {}),
        "member": lambda: pool["members"][0], "healthmonitor": lambda: pool["healthmonitor"],
        "l7policy": lambda: listener["l7policies"][0],
        "second l7policy": lambda: listener["l7policies"][1],
        "rule": lambda: listener["l7policies"][0]["rules"][0],
    }[where]()


AUTHORITY = Authority.create()
SECRETS = {"@cert": AUTHORITY.issue("a.example").pkcs12(),
           "@cert2": AUTHORITY.issue("b.example").pkcs12(),
           "@client": AUTHORITY.issue("lb", client=True).pkcs12(),
           "@ca": AUTHORITY.cert_pem.encode(), "@crl": AUTHORITY.crl_pem().encode(),
           "@ca2": Authority.create("second CA").cert_pem.encode()}
"""What the ``@name`` placeholders of the samples name: secrets stored by the member."""


def with_secrets(api: Api, value: Any, refs: dict[str, str]) -> Any:
    """``value`` with every ``@name`` placeholder replaced by a secret the member stored."""
    if isinstance(value, dict):
        return {key: with_secrets(api, item, refs) for key, item in value.items()}
    if isinstance(value, list):
        return [with_secrets(api, item, refs) for item in value]
    if isinstance(value, str) and value in SECRETS:
        if value not in refs:
            answer = api.client.post("/key-manager/v1/secrets", headers={
                "X-Auth-Token": api.member.token}, json={
                "name": value, "payload": base64.b64encode(SECRETS[value]).decode(),
                "payload_content_type": "application/octet-stream",
                "payload_content_encoding": "base64"})
            assert answer.status_code == 201, answer.text
            refs[value] = answer.json()["secret_ref"]
        return refs[value]
    return value


def trees(api: Api, sample: Sample) -> tuple[dict[str, Any], dict[str, Any]]:
    """The base tree (with the sample's ``base``) and the same with the sample's values, their
    secrets stored."""
    base = base_tree()
    place(base, sample.where).update(copy.deepcopy(sample.base))
    varied = copy.deepcopy(base)
    place(varied, sample.where).update(copy.deepcopy(sample.values))
    refs: dict[str, str] = {}
    return with_secrets(api, base, refs), with_secrets(api, varied, refs)


def create(api: Api, tree: dict[str, Any], provider: str) -> Any:
    body = {"vip_subnet_id": api.subnet_id, "provider": provider, **tree}
    return api.member.post("/loadbalancers", {"loadbalancer": body})


def rendered(api: Api, lb_id: str) -> str:
    """haproxy.cfg of the load balancer, with the ids and the VIP (new for every load balancer)
    replaced by their order of appearance."""
    with read_session(api.services.sessions) as session:
        lb = session.get(models.LoadBalancer, lb_id)
        assert lb is not None
        tree = build_tree(session, lb, api.services.secrets)
    text = render_haproxy_config(tree, ConfigRuntimePaths("/run/lb/stats.sock", "/run/lb/state",
                                                          listener_metrics_socket="/run/agent.sock",
                                                          log_socket="/run/lb/log.sock",
                                                          access_log_socket="/run/lb/access.sock"),
                                 tls_files=plan_tls_files(tree, Path("/run/lb/certs")))
    text = text.replace(tree.vip_address, "VIP")
    # request ids start with the load balancer's own id (logs.unique_id_format)
    text = text.replace(f"unique-id-format '{tree.id[:8]}-", "unique-id-format 'LB-")
    seen: dict[str, str] = {}
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                  lambda m: seen.setdefault(m.group(0), f"ID{len(seen)}"), text)


def test_every_request_attribute_has_a_row() -> None:
    covered = {(sample.where.removeprefix("second "), sample.attribute) for sample in SAMPLES}
    missing = sorted(
        f"{where}.{field.alias or name}" for where, schema in SCHEMAS.items()
        for name, field in schema.model_fields.items()
        if name not in CHILDREN and name not in REFERENCES
        and name not in PLACEMENT.get(where, set())
        and (where, field.alias or name) not in covered)
    assert missing == [], missing


def test_the_walk_names_each_attribute_once_per_object() -> None:
    ids = [sample.id for sample in SAMPLES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.id)
def test_haproxy_applies_or_refuses(sqlite_api: Api, sample: Sample) -> None:
    base, varied = trees(sqlite_api, sample)
    answer = create(sqlite_api, varied, "haproxy")
    if sample.outcome in (REFUSED, REFUSED_BY_HAPROXY):
        assert answer.status_code == 400, answer.text
        fault = answer.json()["faultstring"]
        assert sample.attribute.split(".")[-1] in fault
        if sample.outcome == REFUSED_BY_HAPROXY:
            assert "Provider 'haproxy' does not support" in fault, fault
        return
    # Accepted by the provider: without an agent to place it on, the create stops at scheduling.
    assert answer.status_code == 503 and "agent" in answer.json()["faultstring"], answer.text
    first, second = create(sqlite_api, base, "noop"), create(sqlite_api, varied, "noop")
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    before = rendered(sqlite_api, first.json()["loadbalancer"]["id"])
    after = rendered(sqlite_api, second.json()["loadbalancer"]["id"])
    if sample.outcome == META:
        assert before == after  # names, descriptions and tags never reach haproxy.cfg
        shown = sqlite_api.member.get(f"/loadbalancers/{second.json()['loadbalancer']['id']}")
        assert shown.status_code == 200
    else:
        assert before != after, f"{sample.id} is accepted but changes nothing in haproxy.cfg"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.id)
def test_noop_accepts_what_haproxy_builds_and_what_only_haproxy_refuses(
        sqlite_api: Api, sample: Sample) -> None:
    answer = create(sqlite_api, trees(sqlite_api, sample)[1], "noop")
    if sample.outcome == REFUSED:
        assert answer.status_code == 400, answer.text
    else:
        assert answer.status_code == 201, answer.text


def test_an_update_is_checked_like_a_create(sqlite_api: Api) -> None:
    tree = base_tree()
    lb = create(sqlite_api, tree, "noop").json()["loadbalancer"]
    sqlite_api.wait_active(sqlite_api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    with read_session(sqlite_api.services.sessions) as session:
        row = session.get(models.LoadBalancer, lb["id"])
        assert row is not None
        row_pool = row.pools[0].id
    with write_session(sqlite_api.services.sessions) as session:
        loaded = session.get(models.LoadBalancer, lb["id"])
        assert loaded is not None
        loaded.provider = "haproxy"  # as if an agent had built it
    answer = sqlite_api.member.put(f"/pools/{row_pool}", {"pool": {"session_persistence": {
        "type": "SOURCE_IP", "persistence_granularity": "255.255.255.0"}}})
    assert answer.status_code == 400, answer.text
    assert "pool.session_persistence.persistence_granularity" in answer.json()["faultstring"]
    assert "haproxy" in answer.json()["faultstring"]


UDP_TIMEOUTS = {"timeout_client_data": 1000, "timeout_member_connect": 1000,
                "timeout_member_data": 1000, "timeout_tcp_inspect": 1000}
"""The listener timeouts, none of which applies to a UDP or SCTP listener."""


@pytest.mark.parametrize("protocol", ["UDP", "SCTP"])
def test_the_one_exception_timeouts_of_a_udp_or_sctp_listener(sqlite_api: Api,
                                                              protocol: str) -> None:
    """The one deliberate exception to "applied or refused": a UDP or SCTP listener takes the
    ``timeout_*`` attributes (``timeout_tcp_inspect`` included) that do not apply to it, stores
    them and shows them back, because Octavia does and clients send them. Nothing renders them:
    the haproxy provider refuses UDP and SCTP listeners altogether, naming the protocol."""
    listener = {"protocol": protocol, "protocol_port": 53, **UDP_TIMEOUTS}
    answer = create(sqlite_api, {"listeners": [listener]}, "noop")
    assert answer.status_code == 201, answer.text
    lb_id = answer.json()["loadbalancer"]["id"]
    sqlite_api.wait_active(sqlite_api.member, f"/loadbalancers/{lb_id}", "loadbalancer")
    listener_id = answer.json()["loadbalancer"]["listeners"][0]["id"]
    shown = sqlite_api.member.get(f"/listeners/{listener_id}").json()["listener"]
    assert {key: shown[key] for key in UDP_TIMEOUTS} == UDP_TIMEOUTS
    updated = sqlite_api.member.put(f"/listeners/{listener_id}",
                                    {"listener": {"timeout_tcp_inspect": 2000}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["listener"]["timeout_tcp_inspect"] == 2000

    refused = create(sqlite_api, {"listeners": [listener]}, "haproxy")
    assert refused.status_code == 400, refused.text
    fault = refused.json()["faultstring"]
    assert "Provider 'haproxy' does not support" in fault and "protocol" in fault, fault
    assert "timeout" not in fault, fault


def test_an_availability_zone_is_applied_by_placement(sqlite_api: Api) -> None:
    """A placement attribute: a haproxy load balancer in a zone goes only to the zone's agents
    (none here, so 503, while the same request outside the zone is placed); noop shows it."""
    api = sqlite_api
    report(api, "node-y", "rack-y")
    wait_for(lambda: api.admin.get("/v2.0/agents").json()["agents"], lambda found: found)
    zone(api, "zone-x", "rack-x")
    tree = base_tree()
    in_zone = create(api, {**tree, "availability_zone": "zone-x"}, "haproxy")
    assert in_zone.status_code == 503, in_zone.text
    assert create(api, tree, "haproxy").status_code == 201
    noop_zone = api.admin.post("/availabilityzoneprofiles", {"availability_zone_profile": {
        "name": "n", "provider_name": "noop", "availability_zone_data": "{}"}}).json()
    api.admin.post("/availabilityzones", {"availability_zone": {
        "name": "zone-n",
        "availability_zone_profile_id": noop_zone["availability_zone_profile"]["id"]}})
    shown = create(api, {**tree, "availability_zone": "zone-n"}, "noop")
    assert shown.status_code == 201 and shown.json()["loadbalancer"]["availability_zone"] == \
        "zone-n"
