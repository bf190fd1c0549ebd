"""End to end, by traffic, on three network nodes (``tests/nodelab``): ACTIVE_STANDBY load
balancers, two copies on two nodes with keepalived moving the VIP between them.

A client sends a new connection through the VIP every 10 ms while, one at a time:

* the **agent** of the copy holding the VIP is killed: no takeover, no failed request;
* its **haproxy** is killed: the other copy takes over (keepalived's check), the agent restarts
  the haproxy, which stays BACKUP (no takeover back);
* its **keepalived** is killed with SIGKILL: the other copy takes over, the agent gives up the
  VIP the dead keepalived left and starts keepalived again: one holder of the VIP at the end;
* a **planned failover** (``PUT /loadbalancers/{id}/failover``) moves the VIP: no connection is
  refused or times out (one open at the instant the VIP moves may be reset);
* **sticky sessions** (SOURCE_IP) keep their member across a takeover (haproxy ``peers``);
* the **node** holding the VIP is lost: the other copy takes over, the load balancer stays
  ACTIVE (DEGRADED), a replacement copy is built on the third node without a takeover back, and
  the next loss is survived too;
* a **partition** between the two copies' nodes (both hold the VIP) heals: one yields and the
  roles stay put;
* a **TERMINATED_HTTPS** listener is served by whichever copy holds the VIP, with the same
  certificate before and after a planned failover.

Roles are read from the amphora API (what the agents report) and checked against the VIP on each
node's interface; each copy's agent also writes its role to its admin log (``vrrp_role``). The
lab is shared by the module; each test leaves every node alive.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lbaas.drivers.haproxy.process import HaproxyProcess
from tests.e2e.tls_clients import curl, served_cn
from tests.netlab import skip_unless_root_and_tools
from tests.nodelab import NodeLab, cgroups, rabbitmq
from tests.nodelab.pairs import (
    CHANGE_TIMEOUT,
    Paced,
    copies,
    create_pair,
    haproxy_pids,
    holders,
    keepalived_pids,
    pair_flavor,
    settled_master,
    statuses,
)
from tests.nodelab.procs import wait_until
from tests.tls_material import Authority

pytestmark = [
    pytest.mark.e2e,
    skip_unless_root_and_tools("ip", "haproxy", "keepalived", "socat", "nsenter", "unshare",
                               "epmd"),
    pytest.mark.skipif(not rabbitmq.installed(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not cgroups.available(), reason="no cgroup2 hierarchy"),
]

@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    with NodeLab(nodes=3, servers=1) as built:
        yield built


@pytest.fixture(scope="module")
def flavor_id(lab: NodeLab) -> str:
    return pair_flavor(lab)


def test_a_pair_serves_from_one_copy_and_the_api_shows_both(lab: NodeLab,
                                                           flavor_id: str) -> None:
    lb = create_pair(lab, flavor_id, "pair-show")
    master = settled_master(lab, lb)
    pair = copies(lab, lb["id"])
    assert len(pair) == 2 and len({c["agent_host"] for c in pair}) == 2
    assert {c["ha_ip"] for c in pair} == {lb["vip_address"]}
    assert {c["status"] for c in pair} == {"ALLOCATED"}
    assert all(c["vrrp_ip"] and c["vrrp_ip"] != lb["vip_address"] for c in pair)
    assert lab.hosting_node(lb["id"]).name == master.name
    assert statuses(lab, lb["id"]) == ("ACTIVE", "ONLINE")
    for node in (lab.node_named(c["agent_host"]) for c in pair):  # each agent's admin log
        role = "MASTER" if node.name == master.name else "BACKUP"
        wait_until(lambda node=node, role=role: _logged_roles(node, lb["id"])[-1:] == [role],
                   30, f"{node.name}'s admin log to say {role}")


def _logged_roles(node: Any, lb_id: str) -> list[str]:
    """The VRRP roles in ``node``'s admin log for ``lb_id``, oldest first."""
    path = node.state_path / "logs" / "admin.log"
    lines = map(json.loads, path.read_text().splitlines()) if path.exists() else []
    return [line["role"] for line in lines
            if line["loadbalancer_id"] == lb_id and line["event"] == "vrrp_role"]


def test_agent_death_on_the_master_changes_nothing(lab: NodeLab, flavor_id: str) -> None:
    lb = create_pair(lab, flavor_id, "pair-agent")
    master = settled_master(lab, lb)
    with Paced(lab, lb["vip_address"]) as traffic:
        master.kill_agent()
        wait_until(lambda: lab.agent_view(master.name)["alive"] is False, 60,
                   f"the servers to see {master.name}'s agent dead")
        time.sleep(3 * 2.0)  # several housekeeping passes with the agent dead
    assert traffic.failed == 0 and len(traffic.outcomes) > 100
    assert holders(lab, lb) == [master.name]
    assert {c["agent_host"] for c in copies(lab, lb["id"])} >= {master.name}
    master.start_agent()
    assert settled_master(lab, lb).name == master.name


def test_the_masters_haproxy_killed(lab: NodeLab, flavor_id: str) -> None:
    """Whichever comes first serves again: keepalived's check (the other copy takes over) or
    the agent's stats pass (it restarts the haproxy in place). Either way a new haproxy runs,
    one copy holds the VIP, and the roles then stay put."""
    lb = create_pair(lab, flavor_id, "pair-haproxy")
    master = settled_master(lab, lb)
    killed = haproxy_pids(master, lb["id"])
    with Paced(lab, lb["vip_address"]) as traffic:
        killed_at = time.monotonic()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: traffic.failures_after(killed_at) > 0, 30, "the kill to be felt")
        wait_until(lambda: traffic.served_after(killed_at + 0.5), 30, "traffic to resume")
        wait_until(lambda: HaproxyProcess(lb["id"], master.state_path).is_running(), 30,
                   "the agent to restart haproxy")
        new = settled_master(lab, lb)
    assert not set(haproxy_pids(master, lb["id"])) & set(killed)
    print(f"haproxy killed: outage {traffic.outage()} s, {traffic.failed} failed, "
          f"{'taken over by ' + new.name if new.name != master.name else 'restarted in place'}")
    assert statuses(lab, lb["id"]) == ("ACTIVE", "ONLINE")


def test_the_masters_keepalived_killed(lab: NodeLab, flavor_id: str) -> None:
    lb = create_pair(lab, flavor_id, "pair-keepalived")
    master = settled_master(lab, lb)
    before = keepalived_pids(master, lb["id"])
    assert len(before) == 2
    with Paced(lab, lb["vip_address"]) as traffic:
        killed_at = time.monotonic()
        for pid in before:
            os.kill(pid, signal.SIGSTOP)  # both at once: a lone child would clean up
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        # The agent starts keepalived again, without the VIP the dead one left behind.
        wait_until(lambda: (pids := keepalived_pids(master, lb["id"])) and
                   not set(pids) & set(before), 60, "the agent to restart keepalived")
        settled_master(lab, lb)
        wait_until(lambda: traffic.served_after(killed_at + 0.5), 30, "traffic to resume")
    assert len(holders(lab, lb)) == 1
    print(f"keepalived killed: outage {traffic.outage()} s, {traffic.failed} failed")
    assert statuses(lab, lb["id"]) == ("ACTIVE", "ONLINE")


def test_a_planned_failover_refuses_no_connection(lab: NodeLab, flavor_id: str) -> None:
    lb = create_pair(lab, flavor_id, "pair-planned")
    master = settled_master(lab, lb)
    api = lab.api(1, "admin")
    # A connect timeout above TCP's first SYN retransmission (1 s): a SYN sent to the old
    # copy's MAC in the instant of the switch is repeated, not failed.
    with Paced(lab, lb["vip_address"], timeout=3.0) as traffic:
        time.sleep(0.5)
        assert api.put(f"/loadbalancers/{lb['id']}/failover", {}).status_code == 202
        api.wait_active(lb["id"], timeout=CHANGE_TIMEOUT)
        new = settled_master(lab, lb)
        time.sleep(0.5)
    assert new.name != master.name
    # No attempt is refused or times out. A connection open at the very instant the client's
    # ARP entry flips may be reset by the new MASTER, which does not know it: at most that one
    # (bench/takeover.py counts how often: 3 switches in 20 lost one).
    resets = [error for error in traffic.errors if "ConnectionResetError" in error]
    assert len(resets) == len(traffic.errors) and len(resets) <= 1, traffic.errors
    assert statuses(lab, lb["id"]) == ("ACTIVE", "ONLINE")


def test_sticky_sessions_keep_their_member_across_a_takeover(lab: NodeLab,
                                                           flavor_id: str) -> None:
    lb = create_pair(lab, flavor_id, "pair-sticky", persistence={"type": "SOURCE_IP"})
    master = settled_master(lab, lb)
    vip = lb["vip_address"]
    # Pin the client to the member round robin would not give first on a fresh table.
    first = lab.answers(vip, 1)[0]
    assert set(lab.answers(vip, 6)) == {first}
    api = lab.api(1, "admin")
    assert api.put(f"/loadbalancers/{lb['id']}/failover", {}).status_code == 202
    api.wait_active(lb["id"], timeout=CHANGE_TIMEOUT)
    assert settled_master(lab, lb).name != master.name
    assert set(lab.answers(vip, 8)) == {first}


def test_losing_the_masters_node_then_the_next_one(lab: NodeLab, flavor_id: str) -> None:
    lb = create_pair(lab, flavor_id, "pair-node")
    master = settled_master(lab, lb)
    backup = next(lab.node_named(c["agent_host"]) for c in copies(lab, lb["id"])
                  if c["agent_host"] != master.name)
    third = next(n for n in lab.nodes if n.name not in (master.name, backup.name))
    seen: set[tuple[str, str]] = set()
    try:
        with Paced(lab, lb["vip_address"]) as traffic:
            lost_at = time.monotonic()
            master.lose()
            assert settled_master(lab, lb).name == backup.name
            wait_until(lambda: traffic.served_after(lost_at + 0.5), 30, "traffic to resume")
            recovered_at = max(t for t, body in traffic.outcomes if body is not None)

            def rebuilt() -> bool:
                seen.add(statuses(lab, lb["id"]))
                hosts = {c["agent_host"]: c["status"] for c in copies(lab, lb["id"])}
                return hosts.get(third.name) == "ALLOCATED"

            wait_until(rebuilt, CHANGE_TIMEOUT, f"a replacement copy on {third.name}")
            seen.add(statuses(lab, lb["id"]))
            assert settled_master(lab, lb).name == backup.name  # no takeover back
        assert traffic.failures_after(recovered_at) == 0  # the rebuild interrupted nothing
        print(f"node lost: outage {traffic.outage()} s, {traffic.failed} failed")
        assert {p for p, _ in seen} == {"ACTIVE"}, seen
        assert ("ACTIVE", "DEGRADED") in seen or statuses(lab, lb["id"])[1] == "ONLINE"
        wait_until(lambda: statuses(lab, lb["id"]) == ("ACTIVE", "ONLINE"), CHANGE_TIMEOUT,
                   "the pair to be whole again")
        # Redundancy is back: the next loss is survived too.
        with Paced(lab, lb["vip_address"]) as traffic:
            lost_at = time.monotonic()
            backup.lose()
            assert settled_master(lab, lb).name == third.name
            wait_until(lambda: traffic.served_after(lost_at + 0.5), 30, "traffic to resume")
        lab.wait_serving(lb["vip_address"])
    finally:
        for node in (master, backup):
            if node.lost:
                node.come_back()
    # The nodes that came back removed their stale copies of the moved load balancer.
    for node in (master, backup):
        placed = {c["agent_host"] for c in copies(lab, lb["id"])}
        if node.name not in placed:
            wait_until(lambda n=node: f"qlbaas-{lb['id']}" not in n.namespaces(), 60,
                       f"{node.name} to remove its stale copy")
    # A copy kept on a node that came back is fenced (its link down) with the address its killed
    # keepalived left, until its agent's first sync rebuilds it and gives that address up.
    wait_until(lambda: len(holders(lab, lb)) == 1, 60, "one copy to hold the VIP")


def test_a_partition_between_the_copies_heals_without_flapping(lab: NodeLab,
                                                              flavor_id: str) -> None:
    lb = create_pair(lab, flavor_id, "pair-partition")
    master = settled_master(lab, lb)
    backup = next(lab.node_named(c["agent_host"]) for c in copies(lab, lb["id"])
                  if c["agent_host"] != master.name)
    backup.cut_provider()  # its agent still reports: only VRRP (and the VIP network) is cut
    try:
        wait_until(lambda: sorted(holders(lab, lb)) == sorted([master.name, backup.name]),
                   CHANGE_TIMEOUT, "both copies to hold the VIP (split brain)")
    finally:
        backup.restore_provider()
    winner = settled_master(lab, lb)
    assert winner.name in (master.name, backup.name)
    lab.wait_serving(lb["vip_address"])
    assert statuses(lab, lb["id"]) == ("ACTIVE", "ONLINE")


def test_a_pair_terminates_tls_on_either_copy(lab: NodeLab, flavor_id: str,
                                              tmp_path: Path) -> None:
    """Both copies get the certificate: the one holding the VIP serves it, and after a planned
    failover the other one serves the same."""
    ca = Authority.create("pair CA")
    api = lab.api(1, "member")
    ref = api.ok(api.post("/key-manager/v1/secrets", {
        "name": "pair-tls", "payload_content_type": "application/octet-stream",
        "payload_content_encoding": "base64",
        "payload": base64.b64encode(ca.issue("pair.example").pkcs12()).decode()}))["secret_ref"]
    lb = create_pair(lab, flavor_id, "pair-tls")
    listener = api.ok(api.post("/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
        "default_tls_container_ref": ref}}))["listener"]
    api.wait_active(lb["id"], timeout=CHANGE_TIMEOUT)
    pool = api.ok(api.post("/pools", {"pool": {
        "listener_id": listener["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}))
    for name, address in lab.members():
        api.wait_active(lb["id"], timeout=CHANGE_TIMEOUT)
        api.ok(api.post(f"/pools/{pool['pool']['id']}/members", {"member": {
            "name": name, "address": address, "protocol_port": 80}}))
    api.wait_active(lb["id"], timeout=CHANGE_TIMEOUT)
    assert lab.client is not None
    client = lab.client

    def served() -> set[str]:
        answers = [curl(client, tmp_path, lb["vip_address"], ca, name="pair.example")
                   for _ in range(4)]
        assert all(a.code == 200 for a in answers), [a.error for a in answers]
        return {a.body.strip() for a in answers}

    master = settled_master(lab, lb)
    assert served() == {f"You've reached {name.upper()}" for name, _ in lab.members()}
    assert served_cn(client, lb["vip_address"], "pair.example") == "pair.example"
    admin = lab.api(1, "admin")
    assert admin.put(f"/loadbalancers/{lb['id']}/failover", {}).status_code == 202
    admin.wait_active(lb["id"], timeout=CHANGE_TIMEOUT)
    assert settled_master(lab, lb).name != master.name
    assert served() == {f"You've reached {name.upper()}" for name, _ in lab.members()}
    assert served_cn(client, lb["vip_address"], "pair.example") == "pair.example"
