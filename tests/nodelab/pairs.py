"""ACTIVE_STANDBY load balancers in the node lab: what the end-to-end tests
(``tests/e2e/test_pairs.py``) and the takeover benchmark (``bench.takeover``) both need: an
ACTIVE_STANDBY flavor, a pair behind its VIP, where the VIP is (on each node's interface and as
the amphora API reports roles), the processes of one copy, and a client sending a new
connection every 10 ms that records each outcome."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.keepalived.paths import KeepalivedPaths
from tests.nodelab.api import lb_tree
from tests.nodelab.lab import NodeLab
from tests.nodelab.node import Node
from tests.nodelab.procs import Repeating, wait_until

CHANGE_TIMEOUT = 90.0  # generous on a busy 2-core machine; bench/takeover.py measures times
QUIET = 4.0  # seconds the roles must stay put to count as settled (4 VRRP advertisements)


def pair_flavor(lab: NodeLab, name: str = "ha") -> str:
    """A new flavor whose profile says ``loadbalancer_topology`` ACTIVE_STANDBY; its id."""
    api = lab.api(1, "admin")
    profile = api.ok(api.post("/flavorprofiles", {"flavorprofile": {
        "name": name, "provider_name": "haproxy",
        "flavor_data": json.dumps({"loadbalancer_topology": "ACTIVE_STANDBY"})}}))
    flavor = api.ok(api.post("/flavors", {"flavor": {
        "name": name, "flavor_profile_id": profile["flavorprofile"]["id"]}}))
    return str(flavor["flavor"]["id"])


def create_pair(lab: NodeLab, flavor_id: str, name: str,
                persistence: dict[str, Any] | None = None) -> dict[str, Any]:
    body = lb_tree(name, lab.subnet_id, lab.members())
    body["flavor_id"] = flavor_id
    if persistence is not None:
        body["listeners"][0]["default_pool"]["session_persistence"] = persistence
    lb: dict[str, Any] = lab.api(1, "member").create_lb(body, timeout=CHANGE_TIMEOUT)
    if persistence is None:
        lab.wait_serving(lb["vip_address"])
    else:  # one client, one member
        wait_until(lambda: lab.answers(lb["vip_address"], 1, timeout=1.0), CHANGE_TIMEOUT,
                   "the VIP to answer")
    return lb


def copies(lab: NodeLab, lb_id: str) -> list[dict[str, Any]]:
    """The load balancer's copies as the amphora API shows them."""
    api = lab.live_api()
    return list(api.ok(api.get("/v2/octavia/amphorae", loadbalancer_id=lb_id))["amphorae"])


def holders(lab: NodeLab, lb: dict[str, Any]) -> list[str]:
    """The nodes whose copy of ``lb`` has the VIP on its interface."""
    found = []
    for node in lab.nodes:
        if node.lost or f"qlbaas-{lb['id']}" not in node.namespaces():
            continue
        out = node.run(["ip", "-n", f"qlbaas-{lb['id']}", "-o", "addr", "show", "dev", "eth0"],
                       check=False).stdout
        if f" {lb['vip_address']}/" in out:
            found.append(node.name)
    return found


def settled_master(lab: NodeLab, lb: dict[str, Any]) -> Node:
    """The node holding the VIP once exactly one does and the amphora API says that copy is
    MASTER and no other is, all of it unchanged for :data:`QUIET` seconds."""

    def view() -> str | None:
        held = holders(lab, lb)
        masters = [c["agent_host"] for c in copies(lab, lb["id"]) if c["role"] == "MASTER"]
        return held[0] if len(held) == 1 and masters == held else None

    try:
        first = wait_until(view, CHANGE_TIMEOUT, "one copy to hold the VIP as MASTER")
    except TimeoutError as exc:
        # What was seen last: which nodes hold the VIP, what the amphora API says of each copy.
        seen = [(c["agent_host"], c["role"], c["status"]) for c in copies(lab, lb["id"])]
        raise TimeoutError(f"{exc}; VIP on {holders(lab, lb)}, copies {seen}") from None
    deadline = time.monotonic() + QUIET
    while time.monotonic() < deadline:
        assert view() == first, f"the VIP moved from {first}: {holders(lab, lb)}"
        time.sleep(0.25)
    return lab.node_named(first)


class Paced(Repeating):
    """A new connection through the VIP every 10 ms; each attempt's outcome, in order."""

    def __init__(self, lab: NodeLab, vip: str, timeout: float = 1.0) -> None:
        super().__init__(0.01, "paced-client")
        self.lab, self.vip, self.timeout = lab, vip, timeout
        self.outcomes: list[tuple[float, str | None]] = []  # (time, body or None: failed)
        self.errors: list[str] = []

    def step(self) -> None:
        now = time.monotonic()
        try:
            body: str | None = self.lab.answers(self.vip, 1, timeout=self.timeout)[0]
        except Exception as exc:
            body = None
            self.errors.append(repr(exc))
        self.outcomes.append((now, body))

    @property
    def failed(self) -> int:
        return sum(1 for _, body in self.outcomes if body is None)

    def outage(self) -> float | None:
        """Seconds from the first failed attempt to the first success after it."""
        first = next((t for t, body in self.outcomes if body is None), None)
        if first is None:
            return None
        after = next((t for t, body in self.outcomes if t > first and body is not None), None)
        return None if after is None else after - first

    def served_after(self, moment: float) -> bool:
        return any(body is not None for t, body in self.outcomes if t > moment)

    def failures_after(self, moment: float) -> int:
        return sum(1 for t, body in self.outcomes if t > moment and body is None)


def statuses(lab: NodeLab, lb_id: str) -> tuple[str, str]:
    lb = lab.live_api().lb(lb_id)
    return lb["provisioning_status"], lb["operating_status"]


def haproxy_pids(node: Node, lb_id: str) -> list[int]:
    info = HaproxyProcess(lb_id, node.state_path).proc_info()
    assert info is not None, f"no haproxy of {lb_id} on {node.name}"
    return [info.master_pid, *(pid for pid, _ in info.workers)]


def keepalived_pids(node: Node, lb_id: str) -> list[int]:
    paths = KeepalivedPaths.for_load_balancer(node.state_path, lb_id)
    pids = []
    for path in (paths.pid, paths.vrrp_pid):
        try:
            pid = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
        if os.path.exists(f"/proc/{pid}"):
            pids.append(pid)
    return pids
