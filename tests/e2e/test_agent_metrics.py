"""The agent's Prometheus endpoint while traffic flows through a real load balancer: scraped
over HTTP like Prometheus does, read with prometheus_client's parser (the whole answer must
parse) and checked by ``promtool check metrics`` (Prometheus' own reader), the counters of the
listener move with the requests, member health shows in ``haproxy_server_status``, a stopped
backend goes DOWN, a listener update counts as a reload and a member update as a runtime
update."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lbaas.core.scrape_token import create_token_file
from tests.e2e.stack import Stack, answers, eventually, running_stack
from tests.e2e.traffic import FAST_HTTP_MONITOR, create_lb, member, members_by_name, update

HOSTILE_NAME = 'shop "A" \\ {x="1"}\nnext'
Labels = frozenset[tuple[str, str]]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    token_file = create_token_file(tmp_path / "metrics.token")
    with running_stack(tmp_path, {"agent": {"metrics_listen": "127.0.0.1:0"},
                                  "metrics": {"token_file": str(token_file)}}) as built:
        built.api.extra["metrics_token"] = token_file.read_text().strip()
        yield built


def scrape_text(stack: Stack) -> str:
    """What Prometheus reads, with the scrape token as a bearer."""
    address = stack.agent.metrics_address
    assert address is not None
    token = stack.api.extra["metrics_token"]
    answer = httpx.get(f"http://{address}/metrics", timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return answer.text


def scrape(stack: Stack) -> dict[tuple[str, Labels], float]:
    """(name, labels) -> value of every sample; raises if the text does not parse."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(scrape_text(stack))
            for sample in family.samples}


def value(found: dict[tuple[str, Labels], float], metric: str, **labels: str) -> float:
    """The one sample of ``metric`` whose labels include ``labels``."""
    matches = [v for (n, have), v in found.items()
               if n == metric and frozenset(labels.items()) <= have]
    assert len(matches) == 1, (metric, labels, matches)
    return matches[0]


def test_agent_metrics_follow_traffic_health_and_updates(stack: Stack) -> None:
    stack.backend("b1", 11)
    stack.backend("b2", 12)
    client = stack.client()
    lb = create_lb(stack, {"name": HOSTILE_NAME, "listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "default_pool": {
            "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member("b1", 11), member("b2", 12)],
            "healthmonitor": FAST_HTTP_MONITOR}}]})
    lb_id, vip = lb["id"], lb["vip_address"]
    project = stack.api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"][
        "project_id"]
    listener_id = lb["listeners"][0]["id"]
    pool_id = lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)
    mine = {"loadbalancer_id": lb_id, "project_id": project}
    frontend = {**mine, "listener_id": listener_id}

    def member_state(found: dict[tuple[str, Labels], float], name: str, state: str) -> float:
        return value(found, "haproxy_server_status", **mine, pool_id=pool_id,
                     member_id=ids[name], state=state)

    eventually(lambda: all(member_state(scrape(stack), name, "UP") == 1
                           for name in ("b1", "b2")))
    before = scrape(stack)
    assert value(before, "lbaas_haproxy_up", **mine) == 1
    assert value(before, "lbaas_loadbalancer_info", **mine, name=HOSTILE_NAME) == 1
    assert value(before, "lbaas_agent_loadbalancers") == 1
    assert value(before, "haproxy_backend_active_servers", **mine, pool_id=pool_id) == 2
    assert not any("lbaas_exporter" in str(labels) for _, labels in before)
    # Without the scrape token: 401, and not one series (nor the project's id).
    address = stack.agent.metrics_address
    for headers in ({}, {"Authorization": "Bearer not-the-token"},
                    {"X-Auth-Token": stack.api.admin.token}):
        refused = httpx.get(f"http://{address}/metrics", headers=headers, timeout=10)
        assert refused.status_code == 401 and project not in refused.text, headers

    bodies = answers(client, vip, 20)
    assert set(bodies) == {"You've reached B1", "You've reached B2"}

    def moved_by_traffic() -> bool:
        now = scrape(stack)
        return all(value(now, name, **frontend, **extra) - value(before, name, **frontend,
                                                                    **extra) >= 20
                   for name, extra in (("haproxy_frontend_sessions_total", {}),
                                       ("haproxy_frontend_http_responses_total",
                                        {"code": "2xx"}))) and all(
            value(now, name, **frontend) > value(before, name, **frontend)
            for name in ("haproxy_frontend_bytes_in_total", "haproxy_frontend_bytes_out_total"))
    eventually(moved_by_traffic, timeout=10)
    after = scrape(stack)
    served = sum(value(after, "haproxy_server_sessions_total", **mine, pool_id=pool_id,
                       member_id=ids[name]) for name in ("b1", "b2"))
    assert served >= 20

    stack.stop_server("b2")
    eventually(lambda: member_state(scrape(stack), "b2", "DOWN") == 1, timeout=20)
    down = scrape(stack)
    assert member_state(down, "b1", "UP") == 1
    assert value(down, "haproxy_backend_active_servers", **mine, pool_id=pool_id) == 1
    assert value(down, "haproxy_server_check_failures_total", **mine, pool_id=pool_id,
                 member_id=ids["b2"]) >= 1

    reloads = value(down, "lbaas_agent_reloads_total")
    update(stack, lb_id, f"/listeners/{listener_id}", "listener", {"connection_limit": 123})
    eventually(lambda: value(scrape(stack), "haproxy_frontend_limit_sessions", **frontend)
               == 123)
    updated = scrape(stack)
    assert value(updated, "lbaas_agent_reloads_total") > reloads
    assert value(updated, "lbaas_agent_reload_duration_seconds_count") >= 1
    assert value(updated, "lbaas_agent_deploy_failures_total") == 0

    # A member change goes through haproxy's runtime API: counted, and no reload.
    runtime = value(updated, "lbaas_agent_runtime_updates_total")
    update(stack, lb_id, f"/pools/{pool_id}/members/{ids['b1']}", "member", {"weight": 3})
    eventually(lambda: value(scrape(stack), "haproxy_server_weight", **mine, pool_id=pool_id,
                             member_id=ids["b1"]) == 3)
    reweighted = scrape(stack)
    assert value(reweighted, "lbaas_agent_runtime_updates_total") == runtime + 1
    assert value(reweighted, "lbaas_agent_reloads_total") == value(
        updated, "lbaas_agent_reloads_total")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_prometheus_reads_the_agent_metrics(stack: Stack) -> None:
    stack.backend("b1", 11)
    create_lb(stack, {"name": HOSTILE_NAME, "listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "default_pool": {
            "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": [member("b1", 11)],
            "healthmonitor": FAST_HTTP_MONITOR}}]})
    text = scrape_text(stack)
    assert "haproxy_server_status{" in text
    checked = subprocess.run(["promtool", "check", "metrics"], input=text,
                             capture_output=True, text=True, timeout=60)
    # Exit 1 and "error while linting" for a text it cannot parse, a list of remarks for
    # lint problems (names, HELP, TYPE): neither is expected.
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
