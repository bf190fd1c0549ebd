"""End to end, by traffic, on three network nodes (``tests/nodelab``): what the servers do when an
agent or a whole node is lost, with lbaas's default timings (agents dead after
``agent_down_time`` = 6 s, housekeeping every 2 s).

* **Agent death alone**: haproxy on the node keeps serving; the servers see the agent dead,
  probe the VIP from another node, hear it, and move nothing (their log says why); the agent
  comes back and re-adopts its load balancer.
* **Node loss**: every load balancer of the lost node is rebuilt on another node and answers
  through its VIP again from both backends; meanwhile the API shows it ``PENDING_UPDATE`` /
  ``ERROR``, then ``ACTIVE`` / ``ONLINE`` on its new agent.
* **The lost node comes back**: while it returns, an ARP watch on the provider network sees
  every moved VIP answered by exactly one MAC, its new copy's (the old copy was fenced before
  the node's network returned), and the node removes its stale namespaces.
* **Failover API**: ``PUT /loadbalancers/{id}/failover`` rebuilds on another live node, whose
  copy answers, and the old node's copy is gone; ``lbaas loadbalancer agent`` and ``agents``
  show where it runs.

The lab is shared by the module; the tests run in this order and each leaves every node alive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from lbaas.cli.commands import loadbalancer
from tests.e2e.arpwatch import ArpWatch
from tests.netlab import skip_unless_root_and_tools
from tests.nodelab import LabApi, NodeLab, cgroups, rabbitmq
from tests.nodelab.node import Node
from tests.nodelab.procs import Repeating, wait_until

pytestmark = [
    pytest.mark.e2e,
    skip_unless_root_and_tools("ip", "haproxy", "nsenter", "unshare", "epmd"),
    pytest.mark.skipif(not rabbitmq.installed(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not cgroups.available(), reason="no cgroup2 hierarchy"),
]

HOUSEKEEPING_PASS = 2.0  # lbaas's default [housekeeping] interval
MOVE_TIMEOUT = 60.0  # generous on a busy 2-core machine; the benchmark measures the real time


@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    with NodeLab(nodes=3, servers=2) as built:
        yield built


def vip_mac(node: Node, lb_id: str) -> str:
    """The MAC of ``lb_id``'s VIP interface in its namespace on ``node``."""
    out = node.run(["ip", "-n", f"qlbaas-{lb_id}", "-o", "link", "show", "eth0"]).stdout
    return out.split("link/ether ")[1].split()[0]


def server_logs(lab: NodeLab) -> str:
    return "".join(lab.servers.log(i).read_text(errors="replace") for i in lab.servers.numbers)


def statuses(lab: NodeLab, lb_id: str) -> tuple[str, str]:
    lb = lab.live_api().lb(lb_id)
    return lb["provisioning_status"], lb["operating_status"]


class StatusWatch(Repeating):
    """Records every (provisioning, operating) status pair the API shows for some load
    balancers, polling the list every 50 ms on a thread (a rebuild may take well under a
    second)."""

    def __init__(self, lab: NodeLab, lb_ids: list[str]) -> None:
        super().__init__(0.05, "status-watch")
        self.api = LabApi(lab.servers.url(1), lab.admin_token)
        self.seen: dict[str, set[tuple[str, str]]] = {lb_id: set() for lb_id in lb_ids}

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.api.close()

    def step(self) -> None:
        for lb in self.api.get("/loadbalancers").json()["loadbalancers"]:
            if lb["id"] in self.seen:
                self.seen[lb["id"]].add((lb["provisioning_status"], lb["operating_status"]))


def one_per_node(lab: NodeLab, prefix: str) -> dict[str, dict[str, Any]]:
    """Load balancers until every node hosts at least one of them; node name -> one of them."""
    by_node: dict[str, dict[str, Any]] = {}
    for number in range(12):
        lb = lab.create_lb(f"{prefix}-{number}")
        by_node.setdefault(lab.hosting_node(lb["id"]).name, lb)
        if len(by_node) == len(lab.nodes):
            return by_node
    raise AssertionError(f"load balancers landed on {sorted(by_node)} only")


def test_agent_death_alone_moves_nothing_while_its_vip_answers(lab: NodeLab) -> None:
    lb = lab.create_lb("agent-alone")
    vip = lb["vip_address"]
    node = lab.hosting_node(lb["id"])
    lab.wait_serving(vip)
    node.kill_agent()
    wait_until(lambda: lab.agent_view(node.name)["alive"] is False, 60,
               f"the servers to see {node.name}'s agent dead")
    # Several housekeeping passes with the agent dead: traffic never stops, nothing moves.
    deadline = time.monotonic() + 3 * HOUSEKEEPING_PASS
    while time.monotonic() < deadline:
        assert len(lab.answers(vip, 2)) == 2
    wait_until(lambda: f"load balancer {lb['id']} is dead, but its VIP still answers"
               in server_logs(lab), 30, "the servers to probe the VIP and hold it back")
    assert lab.hosting_node(lb["id"]).name == node.name
    assert statuses(lab, lb["id"]) == ("ACTIVE", "ONLINE")

    node.start_agent()
    assert lab.hosting_node(lb["id"]).name == node.name
    assert lab.live_api().wait_active(lb["id"])["provisioning_status"] == "ACTIVE"
    lab.wait_serving(vip)


def test_node_loss_rebuilds_its_load_balancers_elsewhere_and_the_node_returns_fenced(
        lab: NodeLab) -> None:
    placed = one_per_node(lab, "loss")
    lost = lab.node(1)
    mine = [lb for lb in lab.live_api().get("/loadbalancers").json()["loadbalancers"]
            if lab.hosting_node(lb["id"]).name == lost.name]
    assert placed[lost.name]["id"] in {lb["id"] for lb in mine}
    old_macs = {lb["id"]: vip_mac(lost, lb["id"]) for lb in mine}
    for lb in mine:
        lab.wait_serving(lb["vip_address"])

    with StatusWatch(lab, [lb["id"] for lb in mine]) as seen:
        lost.lose()

        def all_answer_again() -> bool:
            done = True
            for lb in mine:
                try:
                    lab.wait_serving(lb["vip_address"], timeout=0.5)
                except TimeoutError:
                    done = False
            return done

        wait_until(all_answer_again, MOVE_TIMEOUT,
                   "every load balancer of the lost node to answer")
        for lb in mine:
            lab.live_api().wait_active(lb["id"])
    for lb in mine:
        new_node = lab.hosting_node(lb["id"])
        assert new_node.name != lost.name
        assert f"qlbaas-{lb['id']}" in new_node.namespaces()
        after = lab.live_api().wait_active(lb["id"])
        assert after["provisioning_status"] == "ACTIVE"
        wait_until(lambda lb_id=lb["id"]: statuses(lab, lb_id)[1] == "ONLINE", 30,
                   "the rebuilt load balancer to be ONLINE")
        # Meanwhile the API said it was being rebuilt and not serving.
        assert ("PENDING_UPDATE", "ERROR") in seen.seen[lb["id"]], seen.seen[lb["id"]]
        assert f"qlbaas-{lb['id']}" in lost.namespaces()  # the stale copy is still there

    new_macs = {lb["id"]: vip_mac(lab.hosting_node(lb["id"]), lb["id"]) for lb in mine}
    vips = {lb["id"]: lb["vip_address"] for lb in mine}
    with ArpWatch(lab.provider_bridge, list(vips.values())) as watch:
        assert lost.come_back() == "line"  # fenced while its network was still cut
        wait_until(lambda: not any(f"qlbaas-{lb_id}" in lost.namespaces() for lb_id in vips),
                   60, "the returning node to remove its stale copies")
        time.sleep(1.0)
    for lb_id, vip in vips.items():
        assert watch.macs(vip) == {new_macs[lb_id]}, (vip, watch.macs(vip), old_macs[lb_id])
        lab.wait_serving(vip)
    assert all(lab.hosting_node(lb_id).name != lost.name for lb_id in vips)


def test_failover_rebuilds_on_another_node(lab: NodeLab) -> None:
    lb = lab.create_lb("failover")
    old = lab.hosting_node(lb["id"])
    lab.wait_serving(lb["vip_address"])
    api = lab.api(2)
    response = api.put(f"/loadbalancers/{lb['id']}/failover", {})
    assert response.status_code == 202, response.text
    api.wait_active(lb["id"])
    new = lab.hosting_node(lb["id"])
    assert new.name != old.name
    lab.wait_serving(lb["vip_address"])
    wait_until(lambda: f"qlbaas-{lb['id']}" not in old.namespaces(), 30,
               "the old node to remove its copy")
    assert f"qlbaas-{lb['id']}" in new.namespaces()
    # The lbaas CLI shows where it runs now, and every node with what it holds.
    env = {"OS_ENDPOINT": lab.servers.url(1), "OS_TOKEN": lab.admin_token}
    shown = CliRunner().invoke(loadbalancer.app, ["agent", lb["id"], "-f", "json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["host"] == new.name
    listed = CliRunner().invoke(loadbalancer.app, ["agents", "-f", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    holding = {a["host"]: a["load_balancers"] for a in json.loads(listed.stdout)}
    assert set(holding) == {node.name for node in lab.nodes}
    assert holding[new.name] >= 1
