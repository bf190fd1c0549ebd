"""Alerts end to end: the e2e stack (API and agent in this process, real haproxy in network
namespaces, backends in namespaces), its API served on a loopback port, and a real Prometheus and
Alertmanager (tests/monitoring.py) evaluating the shipped etc/prometheus/lbaas-alerts.yml and
notifying the test's webhook receiver.

The agent's own metrics endpoint (``[agent] metrics_listen``, ``AgentService.metrics_address``)
is scraped when this branch has it; the member test needs it and is skipped otherwise.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lbaas.agent.service import AgentService
from lbaas.config import AGENT_OPTS
from lbaas.core.scrape_token import create_token_file
from lbaas.drivers.haproxy.state_paths import StatePaths
from tests.e2e.stack import Stack, eventually, running_stack
from tests.monitoring import Monitoring, monitoring, served_app
from tests.promql import (
    API_METRICS,
    Expression,
    check_all,
    dashboard_expressions,
    metric_names,
    rule_expressions,
)

AGENT_HAS_METRICS = any(opt.name == "metrics_listen" for opt in AGENT_OPTS)
needs_agent_metrics = pytest.mark.skipif(
    not AGENT_HAS_METRICS,
    reason="the agent has no metrics endpoint on this branch ([agent] metrics_listen, "
           "AgentService.metrics_address): member alerts need HAProxy's series from it")
WAIT = 30.0  # a bound: notifications come after 1-2 scrape and evaluation intervals of 1 s
GHOST_NETWORK = ("ghost-net", "10.242.0.0/24", "10.242.0.1")
GHOST_BRIDGE = "lbaasghost0"  # mapped, never created: a load balancer there goes to ERROR
# LbaasAgentMetricsDown waits 1 m in production; a few seconds here (tests/monitoring.py).
FOR_OVERRIDES = {"LbaasAgentMetricsDown": "2s"}


@dataclass
class Watched:
    stack: Stack
    mon: Monitoring
    ghost_subnet_id: str


def _agent_targets(agent: AgentService) -> list[str]:
    address: Any = getattr(agent, "metrics_address", None)
    if address is None:
        return []
    if isinstance(address, tuple):
        return [f"{address[0]}:{address[1]}"]
    return [str(address)]


def _restart_agent(watched: Watched) -> None:
    """A new agent process, as after a crash: same host, new metrics port."""
    stack = watched.stack
    stack.agent.stop()
    stack.agent = AgentService(stack.conf, stack.api.extra["transport"])
    stack.agent.start()
    watched.mon.set_targets("lbaas-agent", _agent_targets(stack.agent))


def _ghost_subnet(stack: Stack) -> str:
    name, cidr, gateway = GHOST_NETWORK
    net = stack.api.admin.post("/v2.0/networks", {"network": {"name": name}}).json()["network"]
    sub = stack.api.admin.post("/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "name": f"{name}-subnet", "cidr": cidr,
        "gateway_ip": gateway}}).json()["subnet"]
    return str(sub["id"])


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    state = tmp_path_factory.mktemp("alerts")
    token_file = create_token_file(state / "metrics.token")  # API and agent: one token
    overrides: dict[str, dict[str, Any]] = {"housekeeping": {"agent_down_time": 2},
                                            "metrics": {"token_file": str(token_file)}}
    if AGENT_HAS_METRICS:
        overrides["agent"] = {"metrics_listen": "127.0.0.1:0"}
    with running_stack(state, overrides) as stack:
        ghost = _ghost_subnet(stack)
        stack.conf.set_override("bridge_mappings", [*stack.conf.agent.bridge_mappings,
                                                    f"{GHOST_NETWORK[0]}:{GHOST_BRIDGE}"],
                                group="agent")
        with served_app(stack.api.client.app) as api_address, monitoring(
                {"lbaas-api": [api_address]}, for_overrides=FOR_OVERRIDES,
                token_file=token_file) as mon:
            watched = Watched(stack, mon, ghost)
            _restart_agent(watched)  # with the ghost network mapped
            mon.wait_scraped("lbaas-api")
            if AGENT_HAS_METRICS:
                mon.wait_scraped("lbaas-agent")
            yield watched


def _web_lb(stack: Stack, name: str, octets: tuple[int, int]) -> dict[str, Any]:
    for i, octet in enumerate(octets):
        stack.backend(f"{name}{i}", octet)
    return stack.create_lb({"name": name, "listeners": [{
        "name": f"{name}-http", "protocol": "HTTP", "protocol_port": 80,
        "connection_limit": 1000,
        "default_pool": {"name": f"{name}-pool", "protocol": "HTTP",
                         "lb_algorithm": "ROUND_ROBIN",
                         "members": [{"name": f"{name}{i}", "address": f"10.241.0.{octet}",
                                      "protocol_port": 80} for i, octet in enumerate(octets)],
                         "healthmonitor": {"type": "HTTP", "delay": 1, "timeout": 1,
                                           "max_retries": 2, "max_retries_down": 2,
                                           "url_path": "/"}}}]})


def _exporter_text(paths: StatePaths) -> str:
    """HAProxy's exporter of one load balancer, read with curl (which decodes the chunked
    answer haproxy sends)."""
    done = subprocess.run(["curl", "-sf", "--unix-socket", str(paths.metrics_socket),
                           "http://lbaas/metrics"], capture_output=True, text=True, timeout=10,
                          check=True)
    return done.stdout


def _members(stack: Stack, pool_id: str) -> dict[str, str]:
    return {m["name"]: m["id"] for m in
            stack.api.member.get(f"/pools/{pool_id}/members").json()["members"]}


def test_a_dead_agent_is_notified_and_resolved_when_it_restarts(watched: Watched) -> None:
    stack, mon = watched.stack, watched.mon
    host = stack.agent.host
    since = time.monotonic()
    stack.agent.stop()
    fired = mon.receiver.wait("LbaasAgentDown", "firing", WAIT, since, host=host)
    assert fired.labels["severity"] == "critical" and host in fired.annotations["summary"]
    print(f"agent stopped -> LbaasAgentDown at the receiver: {fired.received - since:.1f}s "
          f"(agent_down_time 2 s, intervals 1 s)")
    if AGENT_HAS_METRICS:
        mon.receiver.wait("LbaasAgentMetricsDown", "firing", WAIT, since)
    restarted = time.monotonic()
    _restart_agent(watched)
    resolved = mon.receiver.wait("LbaasAgentDown", "resolved", WAIT, restarted, host=host)
    print(f"agent restarted -> resolved: {resolved.received - restarted:.1f}s")
    if AGENT_HAS_METRICS:
        mon.receiver.wait("LbaasAgentMetricsDown", "resolved", WAIT, restarted)


def test_a_load_balancer_in_error_is_notified_and_resolved_when_deleted(
        watched: Watched) -> None:
    stack, mon = watched.stack, watched.mon
    since = time.monotonic()
    r = stack.api.member.post("/loadbalancers", {"loadbalancer": {
        "name": "ghost", "vip_subnet_id": watched.ghost_subnet_id}})
    assert r.status_code == 201, r.text
    lb_id = r.json()["loadbalancer"]["id"]
    stack.lb_ids.append(lb_id)
    assert stack.wait_lb(lb_id)["provisioning_status"] == "ERROR"  # no such bridge
    fired = mon.receiver.wait("LbaasLoadBalancerError", "firing", WAIT, since,
                              loadbalancer_id=lb_id)
    assert fired.labels["severity"] == "critical" and fired.labels["project_id"] == "project-a"
    print(f"create -> LbaasLoadBalancerError at the receiver: {fired.received - since:.1f}s")
    deleted = time.monotonic()
    assert stack.api.member.delete(f"/loadbalancers/{lb_id}").status_code == 204
    eventually(lambda: stack.api.member.get(f"/loadbalancers/{lb_id}").status_code == 404)
    mon.receiver.wait("LbaasLoadBalancerError", "resolved", WAIT, deleted, loadbalancer_id=lb_id)


@needs_agent_metrics
def test_a_stopped_member_is_notified_and_resolved_when_back(watched: Watched) -> None:
    stack, mon = watched.stack, watched.mon
    lb = _web_lb(stack, "mbr", (21, 22))
    pool_id = lb["pools"][0]["id"]
    members = _members(stack, pool_id)
    eventually(lambda: stack.member_status(pool_id, members["mbr0"]) == "ONLINE")
    mon.eventually(lambda: bool(mon.query(
        f'haproxy_server_status{{member_id="{members["mbr0"]}",state="UP"}} == 1')), WAIT,
        "the member scraped UP")
    since = time.monotonic()
    stack.stop_server("mbr0")
    fired = mon.receiver.wait("LbaasMemberDown", "firing", WAIT, since,
                              member_id=members["mbr0"])
    assert fired.labels["pool_id"] == pool_id and fired.labels["loadbalancer_id"] == lb["id"]
    assert fired.labels["severity"] == "warning"
    print(f"member stopped -> LbaasMemberDown at the receiver: {fired.received - since:.1f}s")
    # one of two is not a majority: no critical alert for the pool
    assert mon.receiver.find("LbaasPoolMostMembersDown", "firing", since, pool_id=pool_id) is None
    back = time.monotonic()
    stack.start_server("mbr0", "back")
    mon.receiver.wait("LbaasMemberDown", "resolved", WAIT, back, member_id=members["mbr0"])


def test_every_dashboard_and_rule_expression_runs_and_has_data(watched: Watched) -> None:
    """Every expression runs without error; each has data, once the stack has what each alert
    reads: traffic through a load balancer with a member down, one in ERROR, one PENDING_*, an
    agent. Without the agent's metrics endpoint only the API server's series are required; the
    names of HAProxy's series are checked against the real exporter either way."""
    stack, mon = watched.stack, watched.mon
    lb = _web_lb(stack, "dash", (31, 32))
    pool_id = lb["pools"][0]["id"]
    eventually(lambda: stack.member_status(pool_id, _members(stack, pool_id)["dash0"])
               == "ONLINE")
    stack.stop_server("dash1")

    broken = stack.api.member.post("/loadbalancers", {"loadbalancer": {
        "name": "ghost-dash", "vip_subnet_id": watched.ghost_subnet_id}}).json()["loadbalancer"]
    stack.lb_ids.append(broken["id"])
    assert stack.wait_lb(broken["id"])["provisioning_status"] == "ERROR"

    # PENDING_UPDATE while the agent is away, scraped, then the agent applies it
    stack.agent.stop()
    r = stack.api.member.put(f"/loadbalancers/{lb['id']}", {"loadbalancer": {"name": "dash2"}})
    assert r.status_code == 200, r.text
    pending = f'lbaas_loadbalancer_pending_seconds{{loadbalancer_id="{lb["id"]}"}}'
    mon.eventually(lambda: bool(mon.query(f"last_over_time(({pending})[60s:1s])")), WAIT,
                   "the pending load balancer scraped")
    _restart_agent(watched)
    assert stack.wait_lb(lb["id"])["provisioning_status"] == "ACTIVE"

    expressions = dashboard_expressions() + rule_expressions()
    text = _exporter_text(StatePaths.for_load_balancer(stack.conf.state_path, lb["id"]))
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    used = {n for e in expressions for n in metric_names(e.expr) if n.startswith("haproxy_")}
    assert used - exported == set(), "names HAProxy's exporter does not have"

    # traffic, until Prometheus has seen it (the update above reloaded haproxy)
    client = stack.client("dashcl", 231)

    def traffic_seen() -> bool:
        for _ in range(5):
            client.http_get(lb["vip_address"], 80, timeout=5)
        requests = "sum(rate(haproxy_frontend_http_requests_total[30s])) > 0"
        return not AGENT_HAS_METRICS or bool(mon.query(f"last_over_time(({requests})[60s:1s])"))

    mon.eventually(traffic_seen, WAIT, "the traffic scraped")

    def required(e: Expression) -> bool:
        return AGENT_HAS_METRICS or (metric_names(e.data_expr) <= API_METRICS
                                     and "lbaas-agent" not in e.expr)

    assert check_all(mon.query, expressions, required) == []
