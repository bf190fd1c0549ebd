"""In-memory doubles of the agent manager's surroundings (``lbaas.agent.manager``), shared by the
``test_agent_manager_*`` modules.

The server and the device are in-memory doubles that keep state, not mocks: ``Server`` holds the
trees and records what the agent told it, ``Device`` holds what is deployed. ``Agent`` bundles
them with a real :class:`AgentManager` and its RPC endpoint; the real work queue runs the jobs on
real threads, and :meth:`Agent.settle` waits for it with a bounded join. The fixtures
``make_agent`` and ``agent`` (tests/unit/conftest.py) build them.

Not a test module.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import oslo_messaging as messaging

from lbaas.agent.endpoint import AgentRpcEndpoint
from lbaas.agent.manager import AgentManager
from lbaas.config import load_config
from lbaas.core.request_ids import current_request_id
from lbaas.core.tree import AmphoraNode, LoadBalancerTree, TreeRejected, parse_tree

WAIT = 5.0
HOST = "node-1"
NETWORK_ID = "net-1"


def make_tree(lb_id: str, status: str = "PENDING_CREATE", **overrides: Any) -> dict[str, Any]:
    """A raw tree as ``get_loadbalancer`` returns it (plus ``revision``)."""
    tree: dict[str, Any] = {
        "id": lb_id,
        "project_id": "p1",
        "vip_address": "10.0.0.10",
        "vip_network_id": NETWORK_ID,
        "vip_network_name": "private",
        "vip_subnet": {"id": "sub-1", "network_id": NETWORK_ID, "cidr": "10.0.0.0/24"},
        "provisioning_status": status,
        "revision": 1,
        "pools": [
            {
                "id": "pool-1",
                "protocol": "HTTP",
                "lb_algorithm": "ROUND_ROBIN",
                "members": [{"id": "m1", "address": "10.0.0.11", "protocol_port": 80}],
            }
        ],
    }
    return tree | overrides


@dataclass
class Server:
    """The server side of the agent's RPC, in memory."""

    host: str = HOST
    trees: dict[str, dict[str, Any]] = field(default_factory=dict)
    ready: set[str] = field(default_factory=set)
    statuses: list[tuple[str, str | None, int | None, str | None]] = field(default_factory=list)
    status_request_ids: list[str] = field(default_factory=list)  # the id each status came under
    destroyed: list[str] = field(default_factory=list)
    stats: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    copy_reports: list[tuple[str, str | None, str | None, int | None, str | None]] = field(
        default_factory=list)  # (lb id, status, role, revision, reason) of update_amphora
    batch_error: Exception | None = None  # raised by get_loadbalancers (an older server)
    revisions_error: Exception | None = None  # raised by get_ready_revisions (older than 1.3)
    revision_reads: int = 0  # get_ready_revisions calls answered
    after_batch_read: Callable[[], None] | None = None  # runs before the batch is answered
    down: bool = False

    def add(self, raw: dict[str, Any]) -> None:
        self.trees[raw["id"]] = raw
        self.ready.add(raw["id"])

    def _check(self) -> None:
        if self.down:
            raise messaging.MessagingTimeout("server unreachable")

    def get_ready_devices(self) -> list[str]:
        self._check()
        return sorted(self.ready)

    def get_ready_revisions(self) -> dict[str, int]:
        self._check()
        if self.revisions_error is not None:
            raise self.revisions_error
        self.revision_reads += 1
        return {lb_id: int(self.trees.get(lb_id, {}).get("revision", 1))
                for lb_id in sorted(self.ready)}

    def get_loadbalancer(self, lb_id: str) -> LoadBalancerTree | None:
        """As :meth:`lbaas.rpc.plugin_api.PluginApi.get_loadbalancer`: the JSON form parsed."""
        self._check()
        self.fetched.append(lb_id)
        return parse_tree(self.trees.get(lb_id))

    def get_loadbalancers(self, lb_ids: list[str]) -> dict[str, LoadBalancerTree | None]:
        self._check()
        if self.batch_error is not None:
            raise self.batch_error
        self.batches.append(list(lb_ids))
        answer = {lb_id: copy.deepcopy(self.trees.get(lb_id)) for lb_id in lb_ids}
        if self.after_batch_read is not None:
            self.after_batch_read()
        trees = {}
        for lb_id, raw in answer.items():
            try:
                trees[lb_id] = parse_tree(raw)
            except TreeRejected:
                continue
        return trees

    def update_status(
        self,
        obj_type: str,
        obj_id: str,
        provisioning_status: str | None = None,
        operating_status: str | None = None,
        revision: int | None = None,
        reason: str | None = None,
    ) -> None:
        self._check()
        assert obj_type == "loadbalancer"
        self.statuses.append((obj_id, provisioning_status, revision, reason))
        self.status_request_ids.append(current_request_id())
        if obj_id in self.trees and provisioning_status:
            self.trees[obj_id]["provisioning_status"] = provisioning_status

    def update_amphora(self, lb_id: str, status: str | None = None, role: str | None = None,
                       revision: int | None = None, reason: str | None = None) -> None:
        self._check()
        self.copy_reports.append((lb_id, status, role, revision, reason))

    def update_loadbalancer_stats(self, lb_id: str, stats: dict[str, Any]) -> None:
        self._check()
        self.stats.append((lb_id, stats))

    def loadbalancer_destroyed(self, lb_id: str) -> None:
        self._check()
        self.destroyed.append(lb_id)
        self.trees.pop(lb_id, None)
        self.ready.discard(lb_id)

    def report_state(self, state: dict[str, Any]) -> None:
        self._check()
        self.reports.append(state)


@dataclass
class Device:
    """A device driver that keeps deployed trees in memory."""

    deployed: dict[str, tuple[LoadBalancerTree, str]] = field(default_factory=dict)
    healthy: set[str] = field(default_factory=set)
    log: list[tuple[str, str]] = field(default_factory=list)
    errors: dict[str, Exception] = field(default_factory=dict)  # lb id -> raised by deploy
    members: dict[str, str] = field(default_factory=dict)
    listeners: dict[str, dict[str, int]] = field(default_factory=dict)
    gate: threading.Event | None = None
    prepared: bool = False
    heard: set[str] = field(default_factory=set)  # addresses a probe finds answering
    copies: dict[str, AmphoraNode | None] = field(default_factory=dict)  # lb id -> copy built
    roles: dict[str, str | None] = field(default_factory=dict)  # lb id -> keepalived's role
    drains: set[str] = field(default_factory=set)  # lb ids whose removed servers drain
    reads: list[str] = field(default_factory=list)  # lb ids whose stats were read, in order
    health_checks: int = 0  # is_healthy calls (the thorough check)

    def prepare_host(self) -> None:
        self.prepared = True

    def deploy(self, tree: LoadBalancerTree, bridge: str,
               copy: AmphoraNode | None = None) -> None:
        if self.gate is not None:
            assert self.gate.wait(WAIT)
        self.log.append(("deploy", tree.id))
        if tree.id in self.errors:
            raise self.errors[tree.id]
        self.deployed[tree.id] = (tree, bridge)
        self.copies[tree.id] = copy
        self.healthy.add(tree.id)
        if copy is not None and self.roles.get(tree.id) is None:
            self.roles[tree.id] = "BACKUP"  # keepalived (re)started

    def hand_over(self, lb_id: str) -> None:
        self.log.append(("hand_over", lb_id))
        self.roles[lb_id] = "BACKUP"

    def copy_role(self, lb_id: str) -> str | None:
        return self.roles.get(lb_id)

    def undeploy(self, lb_id: str) -> None:
        self.log.append(("undeploy", lb_id))
        self.deployed.pop(lb_id, None)
        self.copies.pop(lb_id, None)
        self.roles.pop(lb_id, None)
        self.healthy.discard(lb_id)

    def deployed_ids(self) -> set[str]:
        return set(self.deployed)

    def is_healthy(self, lb_id: str) -> bool:
        self.health_checks += 1
        return lb_id in self.healthy

    def still_running(self, lb_id: str) -> bool:
        return lb_id in self.healthy

    def draining(self, lb_id: str) -> bool:
        return lb_id in self.drains

    def collect(self, tree: LoadBalancerTree) -> dict[str, Any]:
        self.reads.append(tree.id)
        return {"listeners": copy.deepcopy(self.listeners), "members": dict(self.members)}


    def answering(self, bridge: str, addresses: list[str]) -> set[str]:
        self.log.append(("probe", bridge))
        return self.heard.intersection(addresses)


@dataclass
class Agent:
    server: Server
    device: Device
    manager: AgentManager
    endpoint: AgentRpcEndpoint

    def settle(self) -> None:
        assert self.manager.queue.join(WAIT), "work queue did not drain"


def build_conf(**agent: Any) -> Any:
    options = {"bridge_mappings": [f"{NETWORK_ID}:br-1"], "workers": 2} | agent
    # A private exchange: the in-process transport's exchanges are shared by the whole process.
    return load_config(overrides={"agent": options, "DEFAULT": {
        "host": HOST, "control_exchange": f"lbaas-unit-{uuid.uuid4()}"}})
