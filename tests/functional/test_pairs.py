"""ACTIVE_STANDBY load balancers on the server (the haproxy provider, agents reporting over the
real RPC transport): two copies on two different live agents, each with its own VRRP address of
the VIP subnet; the pair's change closes when both copies applied it; roles as the agents report
them; a lost copy rebuilt on a third agent only once its VRRP address is silent (the load
balancer stays ACTIVE, DEGRADED meanwhile); planned switch and refusals; everything removed with
the load balancer.

The agents are heartbeats and reports sent through :class:`lbaas.rpc.plugin_api.PluginApi`; the
keepalived pairs themselves run in the multi-node end-to-end tests."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from sqlalchemy import select

from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.rpc.plugin_api import PluginApi
from lbaas.services.housekeeping import Housekeeper
from tests.databases import database_url
from tests.functional.harness import Api, build_api, close_api, wait_for
from tests.functional.probe_double import Probe
from tests.functional.test_availability_zone_scheduling import (
    agents,
    fault_of,
    host_of,
    kill,
    report,
)


def start_agents(api: Api, *hosts: str) -> None:
    for host in hosts:
        report(api, host, None)
    wait_for(lambda: agents(api), lambda found: set(hosts) <= set(found))


def pair_flavor(api: Api) -> str:
    """The id of the API's ACTIVE_STANDBY flavor (made on first use)."""
    if "pair_flavor" in api.extra:
        return str(api.extra["pair_flavor"])
    profile = api.admin.post("/flavorprofiles", {"flavorprofile": {
        "name": "ha", "provider_name": "haproxy",
        "flavor_data": json.dumps({"loadbalancer_topology": "ACTIVE_STANDBY"})}})
    assert profile.status_code == 201, profile.text
    flavor = api.admin.post("/flavors", {"flavor": {
        "name": "ha", "flavor_profile_id": profile.json()["flavorprofile"]["id"]}})
    assert flavor.status_code == 201, flavor.text
    api.extra["pair_flavor"] = flavor.json()["flavor"]["id"]
    return str(api.extra["pair_flavor"])


def create_pair(api: Api) -> dict[str, Any]:
    r = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id, "flavor_id": pair_flavor(api)}})
    assert r.status_code == 201, r.text
    return dict(r.json()["loadbalancer"])


def copies(api: Api, lb_id: str) -> list[dict[str, Any]]:
    """The copies as stored, with their agents' hosts, by position."""
    with read_session(api.services.sessions) as s:
        rows = s.scalars(select(models.Amphora).where(models.Amphora.load_balancer_id == lb_id)
                         .order_by(models.Amphora.position))
        out = []
        for row in rows:
            agent = s.get(models.Agent, row.agent_id) if row.agent_id else None
            out.append({"id": row.id, "host": agent.host if agent else None,
                        "status": row.status, "role": row.role, "vrrp_ip": row.vrrp_ip,
                        "vrrp_port_id": row.vrrp_port_id, "priority": row.vrrp_priority,
                        "revision": row.revision})
        return out


def lb_state(api: Api, lb_id: str) -> tuple[str, str]:
    lb = api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"]
    return lb["provisioning_status"], lb["operating_status"]


def built(api: Api, host: str, lb_id: str, revision: int | None = None) -> None:
    if revision is None:
        with read_session(api.services.sessions) as s:
            lb = s.get(models.LoadBalancer, lb_id)
            assert lb is not None
            revision = lb.revision
    PluginApi(api.extra["transport"], host).update_amphora(lb_id, status="ALLOCATED",
                                                           revision=revision)


def keeper(api: Api, probe: Probe) -> Housekeeper:
    return Housekeeper(api.services.conf, api.services.sessions, api.services.providers,
                       api.services.status, probe)


def test_a_pair_gets_two_agents_and_two_vrrp_addresses(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1", "node-2", "node-3")
    lb = create_pair(api)
    assert lb["provisioning_status"] == "PENDING_CREATE"
    pair = copies(api, lb["id"])
    assert len(pair) == 2 and pair[0]["host"] != pair[1]["host"]
    assert [c["priority"] for c in pair] == [100, 90]
    subnet = ipaddress.ip_network(api.admin.get(f"/v2.0/subnets/{api.subnet_id}")
                                  .json()["subnet"]["cidr"])
    addresses = {c["vrrp_ip"] for c in pair}
    assert len(addresses) == 2 and lb["vip_address"] not in addresses
    assert all(ipaddress.ip_address(a) in subnet for a in addresses)
    ports = api.admin.get("/v2.0/ports").json()["ports"]
    vrrp = {p["id"]: p["fixed_ips"][0]["ip_address"] for p in ports
            if p["device_owner"] == "lbaas:vrrp"}
    assert vrrp == {c["vrrp_port_id"]: c["vrrp_ip"] for c in pair}
    loads = {host: a["configurations"]["load_balancers"] for host, a in agents(api).items()}
    assert sorted(loads.values()) == [0, 1, 1]
    # The next pair avoids the agents already loaded where it can.
    second = copies(api, create_pair(api)["id"])
    assert "node-3" in {c["host"] for c in second}


def test_a_pair_needs_two_live_agents(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1")
    r = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id, "flavor_id": pair_flavor(api)}})
    assert r.status_code == 503, r.text
    assert "needs two live load balancer agents" in fault_of(r)
    assert api.member.get("/loadbalancers").json()["loadbalancers"] == []


def test_the_change_closes_when_both_copies_applied_it(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1", "node-2")
    lb = create_pair(api)
    first, second = copies(api, lb["id"])
    built(api, first["host"], lb["id"])
    assert lb_state(api, lb["id"])[0] == "PENDING_CREATE"
    built(api, second["host"], lb["id"])
    assert lb_state(api, lb["id"]) == ("ACTIVE", "ONLINE")
    assert {c["status"] for c in copies(api, lb["id"])} == {"ALLOCATED"}
    # Roles as reported; the hosting agent is the one holding the VIP.
    PluginApi(api.extra["transport"], second["host"]).update_amphora(lb["id"], role="MASTER")
    PluginApi(api.extra["transport"], first["host"]).update_amphora(lb["id"], role="BACKUP")
    assert [c["role"] for c in copies(api, lb["id"])] == ["BACKUP", "MASTER"]
    assert host_of(api, lb["id"]) == second["host"]
    # A report from an agent without a copy changes nothing.
    PluginApi(api.extra["transport"], "node-9").update_amphora(lb["id"], status="ERROR")
    assert lb_state(api, lb["id"]) == ("ACTIVE", "ONLINE")


def test_a_failed_copy_fails_the_change(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1", "node-2")
    lb = create_pair(api)
    first, _second = copies(api, lb["id"])
    PluginApi(api.extra["transport"], first["host"]).update_amphora(
        lb["id"], status="ERROR", revision=1, reason="haproxy rejected the configuration")
    assert lb_state(api, lb["id"])[0] == "ERROR"


def active_pair(api: Api) -> tuple[str, list[dict[str, Any]]]:
    lb_id = create_pair(api)["id"]
    for copy in copies(api, lb_id):
        built(api, copy["host"], lb_id)
    assert lb_state(api, lb_id) == ("ACTIVE", "ONLINE")
    return lb_id, copies(api, lb_id)


def test_a_lost_copy_is_rebuilt_on_a_third_agent(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1", "node-2")
    lb_id, (first, second) = active_pair(api)
    start_agents(api, "node-3")
    kill(api, first["host"])
    answering = Probe(heard={first["vrrp_ip"]})  # the node lives: only its agent died
    keeper(api, answering).move_from_dead_agents()
    assert copies(api, lb_id)[0]["host"] == first["host"]
    assert lb_state(api, lb_id) == ("ACTIVE", "ONLINE")
    assert answering.calls and first["vrrp_ip"] in answering.calls[0][1]
    keeper(api, Probe()).move_from_dead_agents()  # its VRRP address is silent: the node is gone
    moved = copies(api, lb_id)[0]
    assert moved["host"] == "node-3" and moved["status"] == "PENDING_CREATE"
    assert moved["id"] == first["id"] and moved["vrrp_ip"] == first["vrrp_ip"]
    assert lb_state(api, lb_id) == ("ACTIVE", "DEGRADED")
    assert copies(api, lb_id)[1] == second  # the survivor is untouched
    built(api, "node-3", lb_id)
    assert lb_state(api, lb_id) == ("ACTIVE", "ONLINE")


def test_a_lost_copy_with_nowhere_to_go_waits_for_its_node(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1", "node-2")
    lb_id, (first, _second) = active_pair(api)
    kill(api, first["host"])
    keeper(api, Probe()).move_from_dead_agents()
    lost = copies(api, lb_id)[0]
    assert (lost["host"], lost["status"]) == (first["host"], "ERROR")
    assert lb_state(api, lb_id) == ("ACTIVE", "DEGRADED")
    # A planned switch needs both copies.
    r = api.admin.put(f"/loadbalancers/{lb_id}/failover", None)
    assert r.status_code == 409, r.text
    assert "needs both copies running" in fault_of(r)
    start_agents(api, first["host"])  # the node is back: its agent rebuilds the copy
    built(api, first["host"], lb_id)
    assert lb_state(api, lb_id) == ("ACTIVE", "ONLINE")


def test_a_planned_switch_keeps_the_copies_where_they_are(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1", "node-2", "node-3")
    lb_id, pair = active_pair(api)
    r = api.admin.put(f"/loadbalancers/{lb_id}/failover", None)
    assert r.status_code == 202, r.text
    assert lb_state(api, lb_id)[0] == "PENDING_UPDATE"
    assert [c["host"] for c in copies(api, lb_id)] == [c["host"] for c in pair]
    built(api, pair[0]["host"], lb_id)
    assert lb_state(api, lb_id)[0] == "PENDING_UPDATE"
    built(api, pair[1]["host"], lb_id)
    assert lb_state(api, lb_id)[0] == "ACTIVE"


def test_deleting_a_pair_removes_its_copies_and_vrrp_ports(haproxy_api: Api) -> None:
    api = haproxy_api
    start_agents(api, "node-1", "node-2")
    lb_id, pair = active_pair(api)
    assert api.member.delete(f"/loadbalancers/{lb_id}").status_code == 204
    api.services.status.loadbalancer_destroyed(lb_id)
    assert copies(api, lb_id) == []
    ports = {p["id"] for p in api.admin.get("/v2.0/ports").json()["ports"]}
    assert not ports & {c["vrrp_port_id"] for c in pair}


def test_the_default_topology_comes_from_the_configuration(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    api = build_api(str(tmp_path_factory.mktemp("state")), database_url("sqlite"),
                    overrides={"api": {"default_provider": "haproxy",
                                       "default_topology": "ACTIVE_STANDBY"}})
    try:
        start_agents(api, "node-1", "node-2")
        r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
        assert r.status_code == 201, r.text
        assert len(copies(api, r.json()["loadbalancer"]["id"])) == 2
    finally:
        close_api(api)
