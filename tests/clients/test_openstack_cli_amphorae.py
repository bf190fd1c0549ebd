"""``openstack loadbalancer amphora ...`` (python-octaviaclient, unchanged) against a live
server: an operator lists the copies of every load balancer (a SINGLE one's synthesized
STANDALONE copy and the two stored copies of an ACTIVE_STANDBY one), filters them by load
balancer, role and status, shows one (the extra ``agent_host`` is ignored by the client), reads
its statistics, refreshes its configuration, fails it over, and cannot delete it; a member may
do none of it."""

from __future__ import annotations

import uuid

import pytest

from lbaas.services.amphorae import STANDALONE_NAMESPACE
from tests.clients.conftest import LiveApi
from tests.clients.osc import OPENSTACK, Cli
from tests.functional.amphora_rows import add_agent, add_copies

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(),
                                reason=f"python-openstackclient not installed ({OPENSTACK})")

LIST_COLUMNS = {"id", "loadbalancer_id", "status", "role", "lb_network_ip", "ha_ip"}
SHOW_ROWS = {"id", "loadbalancer_id", "compute_id", "lb_network_ip", "vrrp_ip", "ha_ip",
             "vrrp_port_id", "ha_port_id", "cert_expiration", "cert_busy", "role", "status",
             "vrrp_interface", "vrrp_id", "vrrp_priority", "cached_zone", "created_at",
             "updated_at", "image_id", "compute_flavor"}


def _cli(live: LiveApi, request: pytest.FixtureRequest, token: str) -> Cli:
    environ = request.getfixturevalue("cli_environ")
    return Cli({**environ, "OS_AUTH_TYPE": "admin_token", "OS_TOKEN": token,
                "OS_ENDPOINT": live.url})


def test_an_operator_inspects_and_fails_over_amphorae(live: LiveApi,
                                                      request: pytest.FixtureRequest) -> None:
    api = live.api
    single = api.create_lb(name="cli-single")
    paired = api.create_lb(name="cli-pair")
    r = api.member.post("/listeners", {"listener": {
        "loadbalancer_id": paired["id"], "protocol": "TCP", "protocol_port": 80}})
    assert r.status_code == 201, r.text
    listener_id = r.json()["listener"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{paired['id']}", "loadbalancer")
    master, backup = add_copies(api, paired["id"], [add_agent(api, "cli-node-a", "zone-1"),
                                                    add_agent(api, "cli-node-b", "zone-2")])
    api.services.status.record_stats(paired["id"], {listener_id: {
        "bytes_in": 100, "bytes_out": 200, "active_connections": 2, "total_connections": 7,
        "request_errors": 0}}, {})
    solo = str(uuid.uuid5(STANDALONE_NAMESPACE, single["id"]))
    admin = _cli(live, request, api.admin.token)

    everything, of_pair, masters, allocated, shown, master_stats, backup_stats = admin.json_many(
        ("loadbalancer", "amphora", "list"),
        ("loadbalancer", "amphora", "list", "--loadbalancer", "cli-pair"),
        ("loadbalancer", "amphora", "list", "--role", "master"),
        ("loadbalancer", "amphora", "list", "--status", "ALLOCATED", "--long"),
        ("loadbalancer", "amphora", "show", master),
        ("loadbalancer", "amphora", "stats", "show", master),
        ("loadbalancer", "amphora", "stats", "show", backup),
    )
    assert all(set(row) == LIST_COLUMNS for row in everything)
    assert {(a["id"], a["loadbalancer_id"], a["role"], a["status"], a["ha_ip"])
            for a in everything} == {
        (solo, single["id"], "STANDALONE", "ALLOCATED", single["vip_address"]),
        (master, paired["id"], "MASTER", "ALLOCATED", paired["vip_address"]),
        (backup, paired["id"], "BACKUP", "ALLOCATED", paired["vip_address"])}
    assert [a["id"] for a in of_pair] == [master, backup]
    assert [a["id"] for a in masters] == [master]
    assert {a["id"] for a in allocated} == {solo, master, backup}
    assert {a["cached_zone"] for a in allocated} == {None, "zone-1", "zone-2"}
    assert set(shown) == SHOW_ROWS  # agent_host is not among the client's rows: ignored
    assert (shown["vrrp_ip"], shown["vrrp_interface"], shown["vrrp_id"], shown["vrrp_priority"],
            shown["ha_ip"], shown["cached_zone"]) == ("10.20.0.201", "eth0", 1, 100,
                                                      paired["vip_address"], "zone-1")
    assert master_stats == {"active_connections": 2, "bytes_in": 100, "bytes_out": 200,
                            "request_errors": 0, "total_connections": 7}
    assert backup_stats == dict.fromkeys(master_stats, 0)

    admin.run("loadbalancer", "amphora", "configure", master)
    admin.run("loadbalancer", "amphora", "failover", "--wait", backup)
    state = api.admin.get(f"/loadbalancers/{paired['id']}").json()["loadbalancer"]
    assert state["provisioning_status"] == "ACTIVE"  # --wait waited for the load balancer
    admin.run("loadbalancer", "amphora", "failover", solo)
    api.wait_active(api.admin, f"/loadbalancers/{single['id']}", "loadbalancer")
    refused = admin.run("loadbalancer", "amphora", "delete", solo, check=False)
    assert refused.returncode != 0
    assert f"Amphora {solo} is immutable and cannot be updated." in refused.stderr
    unknown = admin.run("loadbalancer", "amphora", "show", str(uuid.uuid4()), check=False)
    assert unknown.returncode != 0

    member = _cli(live, request, api.member.token)
    forbidden = member.run("loadbalancer", "amphora", "list", check=False)
    assert forbidden.returncode != 0 and "Policy does not allow" in forbidden.stderr
