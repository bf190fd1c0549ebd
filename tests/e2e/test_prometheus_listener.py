"""PROMETHEUS listeners end to end: created through the API on two load balancers, read with curl
from a client namespace. Each answers with its own load balancer's series under Octavia's names
(the HTTP listener's request counter moved by the traffic sent, the members there, nothing of
the other load balancer), allowed_cidrs holds, other methods get 501 and, the agent's service
gone, 503; with a certificate, over HTTPS."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.stack import Stack
from tests.e2e.traffic import create_lb, member
from tests.e2e.traffic_clients import get
from tests.netlab import Host
from tests.tls_material import Authority

REQUESTS = 5
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def curl(client: Host, url: str, *options: str) -> tuple[int, str]:
    """(HTTP status, body) of ``curl url`` run in ``client``; status 0 when nothing answered."""
    result = subprocess.run(
        [*client.exec_argv(), "curl", "-s", "-m", "10", "-o", "-", "-w", "\n%{http_code}",
         *options, url], capture_output=True, text=True, timeout=30)
    body, _, status = result.stdout.rpartition("\n")
    return int(status or 0), body


def scrape(client: Host, vip: str, port: int = 9100, path: str = "/metrics") -> Series:
    status, body = curl(client, f"http://{vip}:{port}{path}")
    assert status == 200, (status, body)
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def value(series: Series, name: str, **labels: str) -> float:
    return series[(name, frozenset(labels.items()))]


def ids_of(stack: Stack, lb: dict[str, Any]) -> dict[str, str]:
    """Protocol -> listener id, and "pool" and "member" -> ids, of a load balancer made below."""
    out = {}
    for ref in lb["listeners"]:
        listener = stack.api.member.get(f"/listeners/{ref['id']}").json()["listener"]
        out[f"{listener['protocol']}:{listener['protocol_port']}"] = listener["id"]
    pool_id = lb["pools"][0]["id"]
    out["pool"] = pool_id
    out["member"] = stack.api.member.get(f"/pools/{pool_id}/members").json()["members"][0]["id"]
    return out


def web_with_metrics(stack: Stack, name: str, octet: int, **extra: Any) -> dict[str, Any]:
    return create_lb(stack, {"name": name, "listeners": [
        {"protocol": "HTTP", "protocol_port": 80, "default_pool": {
            "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": [member("b1", 11)]}},
        {"protocol": "PROMETHEUS", "protocol_port": 9100, **extra},
    ]}, vip_octet=octet)


def test_prometheus_listener_serves_its_own_load_balancers_metrics(stack: Stack) -> None:
    stack.backend("b1", 11)
    client = stack.client()
    first = web_with_metrics(stack, "first", 100)
    second = web_with_metrics(stack, "second", 101)
    first_ids, second_ids = ids_of(stack, first), ids_of(stack, second)
    vip, other_vip = first["vip_address"], second["vip_address"]
    requests = ("octavia_listener_http_requests_total", {"listener": first_ids["HTTP:80"]})

    before = value(scrape(client, vip), requests[0], **requests[1])
    for _ in range(REQUESTS):
        assert get(client, vip).status == 200
    series = scrape(client, vip)
    assert value(series, requests[0], **requests[1]) == before + REQUESTS

    names = {name for name, _ in series}
    assert {"octavia_loadbalancer_cpu", "octavia_loadbalancer_memory",
            "octavia_loadbalancer_current_connections", "octavia_memory_pool_used_bytes",
            "octavia_pool_active_members", "octavia_member_bytes_out_total"} <= names
    assert not [name for name in names if not name.startswith(("octavia_loadbalancer_",
                                                               "octavia_memory_pool_",
                                                               "octavia_listener_",
                                                               "octavia_pool_",
                                                               "octavia_member_"))]
    assert value(series, "octavia_loadbalancer_memory") > 0  # haproxy's resident memory
    assert value(series, "octavia_loadbalancer_cpu") >= 0
    member_labels = {"pool": first_ids["pool"], "member": first_ids["member"]}
    assert value(series, "octavia_member_status", **member_labels, state="UP") == 1
    assert value(series, "octavia_member_loadbalanced_total", **member_labels) >= REQUESTS
    assert value(series, "octavia_pool_active_members", pool=first_ids["pool"]) == 1

    # The PROMETHEUS listener is a listener (as in Octavia); lbaas's own sections are not.
    listeners = {dict(labels)["listener"] for name, labels in series
                 if name == "octavia_listener_status"}
    assert listeners == {first_ids["HTTP:80"], first_ids["PROMETHEUS:9100"]}
    pools = {dict(labels)["pool"] for name, labels in series if name == "octavia_pool_status"}
    assert pools == {first_ids["pool"]}

    # Nothing of the other load balancer, which answers with its own.
    text = curl(client, f"http://{vip}:9100/metrics")[1]
    assert not [i for i in second_ids.values() if i in text]
    # haproxy, not the client, names the load balancer asked.
    asked = curl(client, f"http://{vip}:9100/loadbalancers/{second['id']}")[1]
    assert first_ids["member"] in asked and not [i for i in second_ids.values() if i in asked]
    other_text = curl(client, f"http://{other_vip}:9100/metrics")[1]
    assert second_ids["HTTP:80"] in other_text and second_ids["member"] in other_text
    assert not [i for i in first_ids.values() if i in other_text]

    # Any path answers GET, as Octavia's proxy does; other methods: 501.
    assert value(scrape(client, vip, path="/anything?x=1"), "octavia_pool_active_members",
                 pool=first_ids["pool"]) == 1
    assert curl(client, f"http://{vip}:9100/metrics", "-X", "POST")[0] == 501


def test_prometheus_listener_allowed_cidrs_and_agent_down(stack: Stack) -> None:
    stack.backend("b1", 11)
    client = stack.client()
    allowed = stack.client("c2", 201)
    lb = web_with_metrics(stack, "guarded", 100, allowed_cidrs=["10.241.0.201/32"])
    vip = lb["vip_address"]

    assert curl(client, f"http://{vip}:9100/metrics")[0] == 0  # refused: not in allowed_cidrs
    assert scrape(allowed, vip)

    service = stack.agent.prometheus_listeners
    assert service is not None
    assert stat.S_IMODE(os.stat(service.socket_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(service.socket_path.parent).st_mode) == 0o700
    service.stop()
    try:
        assert curl(allowed, f"http://{vip}:9100/metrics")[0] == 503
    finally:
        service.start()
    assert scrape(allowed, vip)


def test_prometheus_listener_with_a_certificate_serves_https(stack: Stack,
                                                             tmp_path: Path) -> None:
    """As in Octavia: a PROMETHEUS listener given a certificate serves its metrics over TLS."""
    authority = Authority.create("metrics CA")
    stored = stack.api.client.post("/key-manager/v1/secrets", headers={
        "X-Auth-Token": stack.api.member.token}, json={
        "name": "metrics", "payload": base64.b64encode(
            authority.issue("metrics.example").pkcs12()).decode(),
        "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"})
    assert stored.status_code == 201, stored.text
    stack.backend("b1", 11)
    client = stack.client()
    lb = web_with_metrics(stack, "tls", 100, default_tls_container_ref=stored.json()["secret_ref"])
    vip = lb["vip_address"]
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(authority.cert_pem)
    status, body = curl(client, "https://metrics.example:9100/metrics", "--cacert", str(ca_file),
                        "--resolve", f"metrics.example:9100:{vip}")
    assert status == 200, body
    names = {family.name for family in text_string_to_metric_families(body)}
    assert "octavia_listener_status" in names
    assert curl(client, f"http://{vip}:9100/metrics")[0] != 200  # not in plain HTTP
