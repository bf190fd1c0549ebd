"""Agents as the server sees them: heartbeats over RPC, the /v2.0/agents API, scheduling to the
least-loaded live agent that maps the VIP network, and moving load balancers off a dead one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.rpc.plugin_api import PluginApi
from lbaas.services.housekeeping import Housekeeper
from tests.functional.harness import Api, build_api, close_api, wait_for
from tests.functional.probe_double import Probe


@pytest.fixture
def haproxy_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    built = build_api(str(tmp_path_factory.mktemp("state")),
                      overrides={"api": {"default_provider": "haproxy"}})
    try:
        yield built
    finally:
        close_api(built)


def _report(api: Api, host: str, mappings: dict[str, str]) -> None:
    """A heartbeat, sent over the real RPC transport as an agent would."""
    PluginApi(api.extra["transport"], host).report_state({
        "host": host, "binary": "lbaas-agent", "topic": f"lbaas_agent.{host}",
        "configurations": {"bridge_mappings": mappings}})


def _agents(api: Api) -> dict[str, dict]:  # type: ignore[type-arg]
    return {a["host"]: a for a in api.admin.get("/v2.0/agents").json()["agents"]}


def test_no_live_agent_is_503_and_writes_nothing(haproxy_api: Api) -> None:
    r = haproxy_api.member.post("/loadbalancers",
                                {"loadbalancer": {"vip_subnet_id": haproxy_api.subnet_id}})
    assert r.status_code == 503
    assert "No live load balancer agent" in r.json()["faultstring"]
    assert haproxy_api.member.get("/loadbalancers").json()["loadbalancers"] == []


def test_heartbeats_list_agents_and_schedule_least_loaded(haproxy_api: Api) -> None:
    api = haproxy_api
    _report(api, "node-a", {"public": "br-pub"})
    _report(api, "node-b", {"public": "br-pub"})
    _report(api, "node-c", {"other-net": "br-x"})  # cannot reach the VIP network
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 3)
    agents = _agents(api)
    assert all(a["alive"] and a["admin_state_up"] for a in agents.values())
    assert agents["node-a"]["configurations"]["bridge_mappings"] == {"public": "br-pub"}
    hosts = []
    for _ in range(4):
        r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
        assert r.status_code == 201, r.text
        lb_id = r.json()["loadbalancer"]["id"]
        hosting = api.admin.get(f"/v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent")
        hosts.append(hosting.json()["agent"]["host"])
    assert sorted(hosts) == ["node-a", "node-a", "node-b", "node-b"]
    agents = _agents(api)
    assert agents["node-a"]["configurations"]["load_balancers"] == 2
    hosted = api.admin.get(f"/v2.0/agents/{agents['node-b']['id']}/agent-loadbalancers").json()
    assert len(hosted["loadbalancers"]) == 2
    assert api.member.get("/v2.0/agents").status_code == 403


def test_disabled_agent_gets_no_new_load_balancers(haproxy_api: Api) -> None:
    api = haproxy_api
    _report(api, "node-a", {"public": "br-pub"})
    _report(api, "node-b", {"public": "br-pub"})
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 2)
    node_a = _agents(api)["node-a"]["id"]
    r = api.admin.put(f"/v2.0/agents/{node_a}", {"agent": {"admin_state_up": False}})
    assert r.status_code == 200 and r.json()["agent"]["admin_state_up"] is False
    for _ in range(2):
        lb = api.member.post("/loadbalancers", {"loadbalancer": {
            "vip_subnet_id": api.subnet_id}}).json()["loadbalancer"]
        host = api.admin.get(f"/v2.0/lbaas/loadbalancers/{lb['id']}/loadbalancer-hosting-agent")
        assert host.json()["agent"]["host"] == "node-b"
    assert api.admin.delete(f"/v2.0/agents/{node_a}").status_code == 204
    node_b = _agents(api)["node-b"]["id"]
    assert api.admin.delete(f"/v2.0/agents/{node_b}").status_code == 409  # still hosts LBs


def _stranded_on_node_a(api: Api) -> dict[str, Any]:
    """A load balancer on node-a, which then stops reporting; node-b stays alive."""
    _report(api, "node-a", {"public": "br-pub"})
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 1)
    lb = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id}}).json()["loadbalancer"]
    _report(api, "node-b", {"public": "br-pub"})
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 2)
    with write_session(api.services.sessions) as s:  # node-a stopped reporting a minute ago
        agent = s.query(models.Agent).filter_by(host="node-a").one()
        agent.heartbeat_timestamp = models.utcnow() - dt.timedelta(seconds=60)
        row = s.get(models.LoadBalancer, lb["id"])
        assert row is not None
        row.provisioning_status, row.operating_status = "ACTIVE", "ONLINE"
    assert _agents(api)["node-a"]["alive"] is False
    return dict(lb)


def _keeper(api: Api, probe: Probe | None) -> Housekeeper:
    services = api.services
    return Housekeeper(services.conf, services.sessions, services.providers, services.status,
                       probe)


def _host(api: Api, lb_id: str) -> str:
    hosting = api.admin.get(f"/v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent")
    return str(hosting.json()["agent"]["host"])


def test_dead_agents_load_balancer_with_a_silent_vip_is_rebuilt_elsewhere(
        haproxy_api: Api) -> None:
    api = haproxy_api
    lb = _stranded_on_node_a(api)
    probe = Probe()
    _keeper(api, probe).move_from_dead_agents()
    assert probe.calls == [("node-b", (lb["vip_address"],))]  # asked of a live agent
    assert _host(api, lb["id"]) == "node-b"
    moved = api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    # Rebuilding: pending until node-b reports it, and not serving meanwhile.
    assert (moved["provisioning_status"], moved["operating_status"]) == (
        "PENDING_UPDATE", "ERROR")


def test_dead_agents_load_balancer_whose_vip_answers_stays(haproxy_api: Api) -> None:
    """Only the agent died: haproxy on its node still holds the VIP. Moving it would put the
    address on the wire twice; it stays, and is probed again at the next pass."""
    api = haproxy_api
    lb = _stranded_on_node_a(api)
    probe = Probe(heard={lb["vip_address"]})
    keeper = _keeper(api, probe)
    keeper.move_from_dead_agents()
    keeper.move_from_dead_agents()
    assert len(probe.calls) == 2
    assert _host(api, lb["id"]) == "node-a"
    kept = api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert (kept["provisioning_status"], kept["operating_status"]) == ("ACTIVE", "ONLINE")
    probe.heard.clear()  # now the node is gone too
    keeper.move_from_dead_agents()
    assert _host(api, lb["id"]) == "node-b"


@pytest.mark.parametrize("probe", [Probe(broken=True), None], ids=["probe-fails", "no-probe"])
def test_without_evidence_nothing_moves(haproxy_api: Api, probe: Probe | None) -> None:
    api = haproxy_api
    lb = _stranded_on_node_a(api)
    _keeper(api, probe).move_from_dead_agents()
    assert _host(api, lb["id"]) == "node-a"


def test_one_server_at_a_time_runs_housekeeping(haproxy_api: Api) -> None:
    """Two servers on one database: only the lease holder acts; when it stops, the other takes
    over."""
    first, second = _keeper(haproxy_api, None), _keeper(haproxy_api, None)
    assert first.run_once() is True
    assert second.run_once() is False
    assert first.run_once() is True  # renewing
    first.stop()  # releases the lease
    assert second.run_once() is True
    assert first.run_once() is False


def test_work_lost_for_too_long_ends_in_error_not_pending(haproxy_api: Api) -> None:
    """An agent that heartbeats but never applies the change (its cast was lost): the change is
    re-sent after pending_timeout and declared ERROR after three, never left PENDING."""
    api = haproxy_api
    _report(api, "node-a", {"public": "br-pub"})  # nobody consumes node-a's casts
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 1)
    lb = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id}}).json()["loadbalancer"]
    services = api.services
    keeper = Housekeeper(services.conf, services.sessions, services.providers, services.status)
    keeper.reconcile_stuck()  # too young: untouched
    assert api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"][
        "provisioning_status"] == "PENDING_CREATE"
    timeout = services.conf.housekeeping.pending_timeout
    with write_session(services.sessions) as s:
        row = s.get(models.LoadBalancer, lb["id"])
        assert row is not None
        row.status_changed_at = models.utcnow() - dt.timedelta(seconds=timeout * 3 + 1)
    keeper.reconcile_stuck()
    after = api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert after["provisioning_status"] == "ERROR"
    assert api.member.delete(f"/loadbalancers/{lb['id']}").status_code == 204


@pytest.mark.parametrize(("silent_for", "created"), [(20, True), (120, False)])
def test_when_no_agent_is_heard_a_recent_one_still_gets_new_load_balancers(
        haproxy_api: Api, silent_for: int, created: bool) -> None:
    """Every agent silent at once is a message bus down (a broker restart), not every agent
    dead: a create goes to an agent heard within ten agent_down_times (it syncs it when the bus
    is back). Silent for longer, the agent is dead: 503."""
    api = haproxy_api
    _report(api, "node-a", {"public": "br-pub"})
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 1)
    with write_session(api.services.sessions) as s:
        agent = s.query(models.Agent).filter_by(host="node-a").one()
        agent.heartbeat_timestamp = models.utcnow() - dt.timedelta(seconds=silent_for)
    assert _agents(api)["node-a"]["alive"] is False  # the API says what it knows
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
    if created:
        assert r.status_code == 201, r.text
        assert _host(api, r.json()["loadbalancer"]["id"]) == "node-a"
    else:
        assert r.status_code == 503
        assert "No live load balancer agent" in r.json()["faultstring"]


def test_a_live_agent_elsewhere_means_the_silent_one_is_dead(haproxy_api: Api) -> None:
    """Another agent is heard (on another network): the bus works, the silent one is dead."""
    api = haproxy_api
    _report(api, "node-a", {"public": "br-pub"})
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 1)
    with write_session(api.services.sessions) as s:
        agent = s.query(models.Agent).filter_by(host="node-a").one()
        agent.heartbeat_timestamp = models.utcnow() - dt.timedelta(seconds=20)
    _report(api, "node-x", {"elsewhere": "br-x"})
    wait_for(lambda: _agents(api), lambda agents: len(agents) == 2)
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
    assert r.status_code == 503, r.text


def test_ready_revisions_over_rpc_follow_every_change(haproxy_api: Api) -> None:
    """RPC 1.3 ``get_ready_revisions``, over the real transport: the revision of each load
    balancer scheduled to the agent, raised by every change, so an agent's light sync can
    tell what changed without fetching a tree; another agent's load balancers are not in it."""
    api = haproxy_api
    _report(api, "node-a", {"public": "br-pub"})
    wait_for(lambda: _agents(api), lambda agents: "node-a" in agents)
    plugin = PluginApi(api.extra["transport"], "node-a")
    assert plugin.get_ready_revisions() == {}
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
    lb_id = r.json()["loadbalancer"]["id"]
    first = plugin.get_ready_revisions()
    assert list(first) == [lb_id] == plugin.get_ready_devices()
    with write_session(api.services.sessions) as session:  # as the agent would report
        row = session.get(models.LoadBalancer, lb_id)
        assert row is not None
        row.provisioning_status = "ACTIVE"
    assert api.member.put(f"/loadbalancers/{lb_id}", {"loadbalancer": {"name": "x"}}
                          ).status_code == 200
    assert plugin.get_ready_revisions()[lb_id] == first[lb_id] + 1
    assert PluginApi(api.extra["transport"], "node-b").get_ready_revisions() == {}
