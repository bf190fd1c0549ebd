"""A load balancer created in an availability zone of the haproxy provider is hosted only by
agents of the zone's ``agents_zone`` (the agents' ``[agent] availability_zone``, reported with
their heartbeats), both when it is created and when housekeeping moves it off a dead agent."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.rpc.plugin_api import PluginApi
from lbaas.services.housekeeping import Housekeeper
from tests.functional.harness import Api, wait_for
from tests.functional.probe_double import Probe


def report(api: Api, host: str, zone: str | None) -> None:
    """A heartbeat over the real RPC transport, from an agent in ``zone`` (None: an agent that
    reports no zone, as before zones existed) that maps the VIP network."""
    state: dict[str, Any] = {"host": host, "binary": "lbaas-agent", "topic": f"lbaas_agent.{host}",
                             "configurations": {"bridge_mappings": {"public": "br-pub"}}}
    if zone is not None:
        state["availability_zone"] = zone
    PluginApi(api.extra["transport"], host).report_state(state)


def agents(api: Api) -> dict[str, dict[str, Any]]:
    return {a["host"]: a for a in api.admin.get("/v2.0/agents").json()["agents"]}


def host_of(api: Api, lb_id: str) -> str:
    r = api.admin.get(f"/v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent")
    return str(r.json()["agent"]["host"])


def zone(api: Api, name: str, agents_zone: str) -> None:
    profile = api.admin.post("/availabilityzoneprofiles", {"availability_zone_profile": {
        "name": name, "provider_name": "haproxy",
        "availability_zone_data": json.dumps({"agents_zone": agents_zone})}})
    assert profile.status_code == 201, profile.text
    r = api.admin.post("/availabilityzones", {"availability_zone": {
        "name": name, "availability_zone_profile_id":
        profile.json()["availability_zone_profile"]["id"]}})
    assert r.status_code == 201, r.text


def create(api: Api, **attrs: Any) -> Any:
    return api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id, **attrs}})


def fault_of(response: Any) -> str:
    return str(response.json()["faultstring"])


def kill(api: Api, host: str) -> None:
    """``host`` stopped reporting a minute ago."""
    with write_session(api.services.sessions) as s:
        agent = s.query(models.Agent).filter_by(host=host).one()
        agent.heartbeat_timestamp = models.utcnow() - dt.timedelta(seconds=60)


def test_agents_report_their_zone_and_zones_place_load_balancers(haproxy_api: Api) -> None:
    api = haproxy_api
    report(api, "node-a", "rack-a")
    report(api, "node-b", "rack-b")
    report(api, "node-c", None)
    listed = wait_for(lambda: agents(api), lambda found: len(found) == 3)
    assert {host: a["availability_zone"] for host, a in listed.items()} == {
        "node-a": "rack-a", "node-b": "rack-b", "node-c": "nova"}
    zone(api, "zone-b", "rack-b")
    zone(api, "zone-empty", "rack-z")
    in_b = [create(api, availability_zone="zone-b") for _ in range(3)]
    assert all(r.status_code == 201 for r in in_b), [r.text for r in in_b]
    assert {host_of(api, r.json()["loadbalancer"]["id"]) for r in in_b} == {"node-b"}
    assert in_b[0].json()["loadbalancer"]["availability_zone"] == "zone-b"
    # Outside a zone every agent is a candidate: the least loaded ones get the next two.
    anywhere = [create(api).json()["loadbalancer"]["id"] for _ in range(2)]
    assert sorted(host_of(api, lb_id) for lb_id in anywhere) == ["node-a", "node-c"]
    empty = create(api, availability_zone="zone-empty")
    assert empty.status_code == 503
    assert fault_of(empty).startswith("No live load balancer agent in availability zone "
                                      "zone-empty can reach network")
    assert len(api.member.get("/loadbalancers").json()["loadbalancers"]) == 5


def test_dead_agents_load_balancers_move_within_their_zone(haproxy_api: Api) -> None:
    api = haproxy_api
    report(api, "node-b1", "rack-b")
    wait_for(lambda: agents(api), lambda found: len(found) == 1)
    zone(api, "zone-b", "rack-b")
    in_zone = create(api, availability_zone="zone-b").json()["loadbalancer"]["id"]
    report(api, "node-a", "rack-a")  # live, least loaded, but in another zone
    wait_for(lambda: agents(api), lambda found: len(found) == 2)
    kill(api, "node-b1")
    keeper = Housekeeper(api.services.conf, api.services.sessions, api.services.providers,
                         api.services.status, Probe())  # the VIP is silent: the node is gone
    keeper.move_from_dead_agents()
    assert host_of(api, in_zone) == "node-b1"  # nowhere to go in its zone: it stays
    report(api, "node-b2", "rack-b")
    wait_for(lambda: agents(api), lambda found: len(found) == 3)
    keeper.move_from_dead_agents()
    assert host_of(api, in_zone) == "node-b2"


def test_silent_load_balancer_with_nowhere_to_go_is_error_until_its_agent_returns(
        haproxy_api: Api) -> None:
    """Its zone has no live agent left: it cannot move, and it serves nothing (its VIP is
    silent), so its operating status says ERROR; when its agent reports again, the status is
    recomputed from what is known of it."""
    api = haproxy_api
    report(api, "node-b1", "rack-b")
    wait_for(lambda: agents(api), lambda found: len(found) == 1)
    zone(api, "zone-b", "rack-b")
    lb_id = create(api, availability_zone="zone-b").json()["loadbalancer"]["id"]
    with write_session(api.services.sessions) as s:
        row = s.get(models.LoadBalancer, lb_id)
        assert row is not None
        row.provisioning_status, row.operating_status = "ACTIVE", "ONLINE"
    report(api, "node-a", "rack-a")  # alive, maps the network: it can probe, not host
    wait_for(lambda: agents(api), lambda found: len(found) == 2)
    kill(api, "node-b1")
    Housekeeper(api.services.conf, api.services.sessions, api.services.providers,
                api.services.status, Probe()).move_from_dead_agents()
    lb = api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"]
    assert (host_of(api, lb_id), lb["operating_status"]) == ("node-b1", "ERROR")
    report(api, "node-b1", "rack-b")
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"],
             lambda found: found["operating_status"] == "ONLINE")
