"""Decision logic of the agent manager (lbaas.agent.manager) and its service wiring.

The server and the device are in-memory doubles that keep state, not mocks: ``Server`` holds the
trees and records what the agent told it, ``Device`` holds what is deployed. The real work queue
runs the jobs on real threads; tests wait for it with bounded joins. The last test sends real
casts through oslo.messaging's in-process transport to a started :class:`AgentService`.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import oslo_messaging as messaging
import pytest

from lbaas.agent.bridges import bridge_for, parse_bridge_mappings
from lbaas.agent.endpoint import AgentRpcEndpoint
from lbaas.agent.manager import PREFETCH_CHUNK, AgentManager
from lbaas.agent.service import AgentService
from lbaas.agent.stats_ledger import COUNTERS_EVERY, RESEND_EVERY
from lbaas.config import load_config
from lbaas.core.tree import LoadBalancerTree, TreeRejected, parse_tree
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.process import ConfigRejected, HaproxyError
from lbaas.rpc.agent_api import AgentApi
from lbaas.rpc.topics import PLUGIN_TOPIC, RPC_NAMESPACE
from lbaas.rpc.transport import make_server, make_transport

WAIT = 5.0
HOST = "node-1"
NETWORK_ID = "net-1"
AGENT_METHODS = {
    f"{action}_{kind}"
    for action in ("create", "update", "delete")
    for kind in (
        "loadbalancer", "listener", "pool", "member", "health_monitor", "l7policy", "l7rule"
    )
} | {"failover_loadbalancer"}


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
    destroyed: list[str] = field(default_factory=list)
    stats: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    batch_error: Exception | None = None  # raised by get_loadbalancers (an older server)
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
        if obj_id in self.trees and provisioning_status:
            self.trees[obj_id]["provisioning_status"] = provisioning_status

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

    def prepare_host(self) -> None:
        self.prepared = True

    def deploy(self, tree: LoadBalancerTree, bridge: str) -> None:
        if self.gate is not None:
            assert self.gate.wait(WAIT)
        self.log.append(("deploy", tree.id))
        if tree.id in self.errors:
            raise self.errors[tree.id]
        self.deployed[tree.id] = (tree, bridge)
        self.healthy.add(tree.id)

    def undeploy(self, lb_id: str) -> None:
        self.log.append(("undeploy", lb_id))
        self.deployed.pop(lb_id, None)
        self.healthy.discard(lb_id)

    def deployed_ids(self) -> set[str]:
        return set(self.deployed)

    def is_healthy(self, lb_id: str) -> bool:
        return lb_id in self.healthy

    def collect(self, tree: LoadBalancerTree) -> dict[str, Any]:
        return {"listeners": copy.deepcopy(self.listeners), "members": dict(self.members)}


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


@pytest.fixture
def make_agent() -> Iterator[Callable[..., Agent]]:
    """Builds agents (options of [agent] as keywords); stops their work queues at teardown."""
    built: list[Agent] = []

    def make(**options: Any) -> Agent:
        server, device = Server(), Device()
        manager = AgentManager(build_conf(**options), server, device)
        built.append(Agent(server, device, manager, AgentRpcEndpoint(manager)))
        return built[-1]

    yield make
    for agent in built:
        if agent.device.gate is not None:
            agent.device.gate.set()
        assert agent.manager.stop(WAIT)


@pytest.fixture
def agent(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent()


# --- casts and refresh -------------------------------------------------------------------------


def test_endpoint_exposes_exactly_the_agent_casts() -> None:
    public = {name for name in dir(AgentRpcEndpoint) if not name.startswith("_")}
    assert public == AGENT_METHODS | {"target"}
    assert AgentRpcEndpoint.target.namespace == RPC_NAMESPACE


@pytest.mark.parametrize("method", sorted(AGENT_METHODS - {"failover_loadbalancer"}))
def test_any_cast_deploys_the_tree_and_reports_active(agent: Agent, method: str) -> None:
    agent.server.add(make_tree("lb1", revision=7))
    getattr(agent.endpoint, method)({}, obj_id="obj", loadbalancer_id="lb1")
    agent.settle()
    assert agent.device.deployed["lb1"][1] == "br-1"
    assert agent.server.statuses == [("lb1", "ACTIVE", 7, None)]


def test_burst_of_casts_coalesces(agent: Agent) -> None:
    agent.server.add(make_tree("lb1"))
    agent.device.gate = threading.Event()
    for _ in range(20):
        agent.endpoint.update_member({}, obj_id="m1", loadbalancer_id="lb1")
    agent.device.gate.set()
    agent.settle()
    assert 1 <= agent.device.log.count(("deploy", "lb1")) <= 2


def test_refresh_of_an_active_tree_does_not_report_again(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    assert "lb1" in agent.device.deployed
    assert agent.server.statuses == []


def test_refresh_reports_when_a_child_is_pending(agent: Agent) -> None:
    raw = make_tree("lb1", status="ACTIVE")
    raw["pools"][0]["members"][0]["provisioning_status"] = "PENDING_UPDATE"
    agent.server.add(raw)
    agent.manager.refresh("lb1")
    assert agent.server.statuses == [("lb1", "ACTIVE", 1, None)]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="gone"),
        pytest.param(make_tree("lb1", "PENDING_DELETE"), id="deleting"),
    ],
)
def test_deleted_load_balancer_is_undeployed_and_confirmed(
    agent: Agent, raw: dict[str, Any] | None
) -> None:
    agent.device.deployed["lb1"] = (LoadBalancerTree.model_validate(make_tree("lb1")), "br-1")
    if raw is not None:
        agent.server.add(raw)
    agent.manager.refresh("lb1")
    assert agent.device.log == [("undeploy", "lb1")]
    assert agent.server.destroyed == ["lb1"]
    assert agent.server.statuses == []


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(ConfigRejected("[ALERT] bogus keyword"), "bogus keyword", id="rejected"),
        pytest.param(UnsafeConfigValue("url contains a newline"), "newline", id="unsafe"),
    ],
)
def test_permanent_deploy_error_sets_error_without_resync(
    agent: Agent, error: Exception, reason: str
) -> None:
    agent.server.add(make_tree("lb1", revision=3))
    agent.device.errors["lb1"] = error
    agent.manager.refresh("lb1")
    [(lb_id, status, revision, text)] = agent.server.statuses
    assert (lb_id, status, revision) == ("lb1", "ERROR", 3)
    assert text is not None and reason in text
    assert not agent.manager.needs_resync
    assert not agent.manager.retries.pending("lb1")


@pytest.mark.parametrize("bug", [ValueError("invalid literal"), KeyError("pools"), TypeError()])
def test_a_bug_is_logged_with_its_traceback_and_retried_never_error(
    agent: Agent, bug: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    agent.server.add(make_tree("lb1", revision=3))
    agent.device.errors["lb1"] = bug
    with caplog.at_level("ERROR", logger="lbaas.agent.manager"):
        agent.manager.refresh("lb1")
    assert agent.server.statuses == []  # the tenant's load balancer is not blamed
    assert agent.manager.retries.pending("lb1")
    [record] = [r for r in caplog.records if "a bug" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[1] is bug
    del agent.device.errors["lb1"]
    agent.manager.retries._due["lb1"] = 0.0  # the retry is due now
    agent.manager.retry_due()
    agent.settle()
    assert [s[1] for s in agent.server.statuses] == ["ACTIVE"]
    assert not agent.manager.retries.pending("lb1")


def test_invalid_tree_sets_error_before_touching_the_device(agent: Agent) -> None:
    raw = make_tree("lb1")
    del raw["vip_subnet"]
    agent.server.add(raw)
    agent.manager.refresh("lb1")
    assert agent.device.log == []
    [(_, status, _, reason)] = agent.server.statuses
    assert status == "ERROR" and reason is not None and "vip_subnet" in reason


def test_unmapped_network_sets_error(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", vip_network_id="other", vip_network_name="other"))
    agent.manager.refresh("lb1")
    [(_, status, _, reason)] = agent.server.statuses
    assert status == "ERROR" and reason is not None and "bridge_mappings" in reason
    assert agent.device.log == []


def test_haproxy_failure_sets_error_and_is_retried(agent: Agent) -> None:
    agent.server.add(make_tree("lb1"))
    agent.device.errors["lb1"] = HaproxyError("haproxy for lb1 failed to reload")
    agent.manager.refresh("lb1")
    assert [s[1] for s in agent.server.statuses] == ["ERROR"]
    assert agent.manager.retries.pending("lb1")


@pytest.mark.parametrize("where", ["server", "netlink"])
def test_temporary_failure_is_retried_and_reports_nothing(agent: Agent, where: str) -> None:
    agent.server.add(make_tree("lb1"))
    if where == "server":
        agent.server.down = True
    else:
        agent.device.errors["lb1"] = OSError(16, "Device or resource busy")
    agent.manager.refresh("lb1")
    assert agent.manager.retries.pending("lb1")
    assert agent.server.statuses == []


def test_failover_undeploys_then_deploys(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.endpoint.failover_loadbalancer({}, obj_id="lb1", loadbalancer_id="lb1")
    agent.settle()
    assert agent.device.log == [("deploy", "lb1"), ("undeploy", "lb1"), ("deploy", "lb1")]


# --- sync_state --------------------------------------------------------------------------------


def test_sync_deploys_wanted_and_removes_orphans_without_asking_the_server(agent: Agent) -> None:
    agent.server.add(make_tree("new"))
    agent.server.add(make_tree("kept", status="ACTIVE"))
    tree = LoadBalancerTree.model_validate(make_tree("orphan"))
    agent.device.deployed["kept"] = (LoadBalancerTree.model_validate(make_tree("kept")), "br-1")
    agent.device.deployed["orphan"] = (tree, "br-1")
    agent.server.trees["orphan"] = make_tree("orphan")  # lives on another agent now
    agent.manager.sync_state()
    agent.settle()
    assert set(agent.device.deployed) == {"new", "kept"}
    assert ("undeploy", "orphan") in agent.device.log
    assert "orphan" not in agent.server.fetched
    assert agent.server.destroyed == []
    assert [s[:2] for s in agent.server.statuses] == [("new", "ACTIVE")]


def test_sync_without_the_server_removes_nothing(agent: Agent) -> None:
    agent.device.deployed["lb1"] = (LoadBalancerTree.model_validate(make_tree("lb1")), "br-1")
    agent.server.down = True
    agent.manager.sync_state()
    agent.settle()
    assert agent.device.log == []
    assert agent.manager.needs_resync


def _agent_with_its_only_worker_busy(make_agent: Callable[..., Agent]) -> Agent:
    """An agent with one worker, held by load balancer "blocker" until ``device.gate`` is set."""
    agent = make_agent(workers=1)
    agent.server.add(make_tree("blocker"))
    agent.device.gate = threading.Event()
    agent.endpoint.create_loadbalancer({}, obj_id="blocker", loadbalancer_id="blocker")
    return agent


def test_cast_after_sync_saves_a_load_balancer_from_orphan_removal(
    make_agent: Callable[..., Agent],
) -> None:
    agent = _agent_with_its_only_worker_busy(make_agent)
    agent.device.deployed["lb1"] = (LoadBalancerTree.model_validate(make_tree("lb1")), "br-1")
    agent.server.ready.discard("blocker")
    agent.manager.sync_state()  # lb1 is not wanted yet: an orphan
    agent.server.add(make_tree("lb1"))  # ... then scheduled here, and cast
    agent.endpoint.create_loadbalancer({}, obj_id="lb1", loadbalancer_id="lb1")
    agent.device.gate.set()
    agent.settle()
    assert ("undeploy", "lb1") not in agent.device.log
    assert ("lb1", "ACTIVE", 1, None) in agent.server.statuses


def test_sync_fetches_trees_in_chunks_not_one_by_one(agent: Agent) -> None:
    count = 2 * PREFETCH_CHUNK + 3
    for number in range(count):
        agent.server.add(make_tree(f"lb{number:03d}", status="ACTIVE"))
    agent.manager.sync_state()
    agent.settle()
    assert len(agent.device.deployed) == count
    assert [len(batch) for batch in agent.server.batches] == [PREFETCH_CHUNK, PREFETCH_CHUNK, 3]
    assert agent.server.fetched == []
    assert len(agent.manager.prefetched) == 0  # every prefetched tree was used once
    assert agent.server.statuses == []  # all were ACTIVE already: a quiet resync


def test_sync_prefetch_of_a_deleted_load_balancer_undeploys_it(agent: Agent) -> None:
    agent.server.ready.add("gone")  # still scheduled here, but no tree any more
    agent.device.deployed["gone"] = (LoadBalancerTree.model_validate(make_tree("gone")), "br-1")
    agent.manager.sync_state()
    agent.settle()
    assert agent.server.batches == [["gone"]]
    assert "gone" not in agent.device.deployed
    assert agent.server.destroyed == ["gone"]


def test_cast_during_a_batch_fetch_makes_the_refresh_fetch_the_newer_tree(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE", name="old"))
    agent.server.add(make_tree("lb2", status="ACTIVE", name="old"))

    def change_after_the_read() -> None:  # the batch answer now holds the old lb1
        agent.server.trees["lb1"] = make_tree("lb1", name="new", revision=2)
        agent.endpoint.update_pool({}, obj_id="pool-1", loadbalancer_id="lb1")

    agent.server.after_batch_read = change_after_the_read
    agent.manager.sync_state()
    agent.settle()
    assert agent.device.deployed["lb1"][0].name == "new"
    assert ("lb1", "ACTIVE", 2, None) in agent.server.statuses
    assert agent.server.fetched.count("lb1") >= 1 and "lb2" not in agent.server.fetched
    assert agent.device.log.count(("deploy", "lb2")) == 1


def test_cast_after_a_batch_fetch_beats_the_prefetched_tree(
    make_agent: Callable[..., Agent],
) -> None:
    agent = _agent_with_its_only_worker_busy(make_agent)
    agent.server.add(make_tree("lb1", status="ACTIVE", name="old"))
    agent.server.ready.discard("blocker")
    agent.manager.sync_state()  # lb1's old tree is prefetched, its refresh queued
    agent.server.trees["lb1"] = make_tree("lb1", name="new", revision=2)
    agent.endpoint.update_loadbalancer({}, obj_id="lb1", loadbalancer_id="lb1")
    agent.device.gate.set()
    agent.settle()
    assert agent.device.log.count(("deploy", "lb1")) == 1  # the queued refresh, coalesced
    assert agent.device.deployed["lb1"][0].name == "new"
    assert agent.server.fetched == ["blocker", "lb1"]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(messaging.UnsupportedVersion("1.1"), id="server-older-than-rpc-1.1"),
        pytest.param(messaging.MessagingTimeout("slow"), id="timeout"),
    ],
)
def test_failed_batch_fetch_falls_back_to_one_fetch_per_load_balancer(
    agent: Agent, error: Exception
) -> None:
    ids = [f"lb{number:03d}" for number in range(PREFETCH_CHUNK + 1)]
    for lb_id in ids:
        agent.server.add(make_tree(lb_id))
    agent.server.batch_error = error
    agent.manager.sync_state()
    agent.settle()
    assert set(agent.device.deployed) == set(ids)
    assert sorted(agent.server.fetched) == ids
    assert not agent.manager.needs_resync


# --- stats and heartbeats ----------------------------------------------------------------------


def test_stats_sent_on_member_change_and_changed_counters_every_n_passes(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.device.members = {"m1": "ONLINE"}
    agent.device.listeners = {"l1": {"bytes_in": 1}}
    agent.manager.collect_stats()
    agent.manager.collect_stats()
    assert len(agent.server.stats) == 1
    agent.device.members = {"m1": "ERROR"}
    agent.manager.collect_stats()
    assert [s[1]["members"] for s in agent.server.stats] == [{"m1": "ONLINE"}, {"m1": "ERROR"}]
    agent.device.listeners = {"l1": {"bytes_in": 2}}
    for _ in range(COUNTERS_EVERY - 1):
        agent.manager.collect_stats()
    assert len(agent.server.stats) == 2
    agent.manager.collect_stats()
    assert len(agent.server.stats) == 3
    assert agent.server.stats[-1][1]["listeners"] == {"l1": {"bytes_in": 2}}


def test_unchanged_stats_are_sent_again_only_every_resend_passes(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.device.listeners = {"l1": {"bytes_in": 5}}
    for _ in range(RESEND_EVERY):
        agent.manager.collect_stats()
    assert len(agent.server.stats) == 1  # an idle load balancer: sent once
    agent.manager.collect_stats()
    assert len(agent.server.stats) == 2


def test_health_is_sent_again_after_closing_a_change(agent: Agent) -> None:
    """Closing a change, the server recomputes operating statuses from what it stored (a member
    re-enabled between two stats passes stays OFFLINE there): the next pass resends health even
    though haproxy's view did not change."""
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.device.members = {"m1": "ONLINE"}
    agent.manager.collect_stats()
    agent.manager.collect_stats()
    assert len(agent.server.stats) == 1
    agent.server.add(make_tree("lb1", status="PENDING_UPDATE", revision=2))
    agent.manager.refresh("lb1")
    agent.manager.collect_stats()
    assert len(agent.server.stats) == 2
    assert agent.server.stats[-1][1]["members"] == {"m1": "ONLINE"}
    agent.manager.collect_stats()
    assert len(agent.server.stats) == 2  # and then quiet again
    agent.server.add(make_tree("lb1", status="ACTIVE", revision=2))
    agent.manager.refresh("lb1")  # a resync finding nothing pending sends nothing
    agent.manager.collect_stats()
    assert len(agent.server.stats) == 2


def test_stats_pass_ends_early_when_the_agent_stops() -> None:
    server, device, stopping = Server(), Device(), threading.Event()
    manager = AgentManager(build_conf(), server, device, stopping=stopping)
    try:
        for lb_id in ("lb1", "lb2", "lb3"):
            server.add(make_tree(lb_id, status="ACTIVE"))
            manager.refresh(lb_id)
        manager.collect_stats()
        assert len(server.stats) == 3
        device.members = {"m1": "ONLINE"}
        stopping.set()
        manager.collect_stats()
        assert len(server.stats) == 4  # the first load balancer, then the pass stopped
    finally:
        assert manager.stop(WAIT)


def test_dead_haproxy_is_refreshed(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.device.healthy.discard("lb1")
    agent.manager.collect_stats()
    agent.settle()
    assert agent.device.log == [("deploy", "lb1"), ("deploy", "lb1")]
    assert agent.device.is_healthy("lb1")


def test_dead_haproxy_restarts_on_its_last_tree_while_the_server_is_down(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.device.healthy.discard("lb1")
    agent.server.down = True
    agent.manager.collect_stats()
    agent.settle()
    assert agent.device.is_healthy("lb1")
    assert agent.manager.retries.pending("lb1")


def test_failed_refresh_of_a_dead_load_balancer_stops_stats_restarts(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.device.healthy.discard("lb1")
    agent.device.errors["lb1"] = ConfigRejected("no")
    agent.manager.collect_stats()
    agent.settle()
    agent.manager.collect_stats()
    agent.settle()
    assert agent.device.log.count(("deploy", "lb1")) == 2  # no loop through the stats pass


def test_report_state_payload(agent: Agent) -> None:
    agent.device.deployed["lb1"] = (LoadBalancerTree.model_validate(make_tree("lb1")), "br-1")
    agent.manager.report_state()
    assert agent.server.reports == [
        {
            "host": HOST,
            "binary": "lbaas-agent",
            "topic": f"lbaas_agent.{HOST}",
            "configurations": {
                "bridge_mappings": {NETWORK_ID: "br-1"},
                "load_balancers": 1,
                "device_drivers": ["haproxy_ns"],
            },
        }
    ]


# --- helpers -----------------------------------------------------------------------------------


def test_parse_bridge_mappings() -> None:
    assert parse_bridge_mappings(["public:br-ex", " a:b:br0 "]) == {"public": "br-ex", "a:b": "br0"}
    for bad in (["nocolon"], [":br"], ["net:"], ["n:b1", "n:b2"]):
        with pytest.raises(ValueError):
            parse_bridge_mappings(bad)


def test_bridge_for_prefers_network_id_then_name() -> None:
    mappings = {"net-1": "br-id", "public": "br-name"}
    by_id = LoadBalancerTree.model_validate(make_tree("lb1", vip_network_name="public"))
    assert bridge_for(mappings, by_id) == "br-id"
    by_name = LoadBalancerTree.model_validate(
        make_tree("lb1", vip_network_id="net-2", vip_network_name="public"))
    assert bridge_for(mappings, by_name) == "br-name"


def test_has_pending_looks_at_every_object() -> None:
    assert not LoadBalancerTree.model_validate(make_tree("lb1", status="ACTIVE")).has_pending()
    assert LoadBalancerTree.model_validate(make_tree("lb1", status="PENDING_UPDATE")).has_pending()
    raw = make_tree("lb1", status="ACTIVE")
    raw["pools"][0]["healthmonitor"] = {"id": "hm1", "type": "TCP", "delay": 5, "timeout": 3,
                                        "max_retries": 3, "provisioning_status": "PENDING_CREATE"}
    assert LoadBalancerTree.model_validate(raw).has_pending()


def test_a_tree_the_agent_cannot_read_names_its_load_balancer_and_revision() -> None:
    raw = make_tree("lb1", revision=7)
    del raw["vip_subnet"]
    with pytest.raises(TreeRejected) as caught:
        parse_tree(raw)
    assert (caught.value.lb_id, caught.value.revision) == ("lb1", 7)
    assert "vip_subnet" in str(caught.value)


# --- the service over oslo.messaging's in-process transport -----------------------------------


class PluginEndpoint:
    """The server's RPC endpoint, delegating to a :class:`Server`."""

    target = messaging.Target(namespace=RPC_NAMESPACE, version="1.0")

    def __init__(self, server: Server) -> None:
        self.server = server

    def get_ready_devices(self, ctx: Any, host: str) -> list[str]:
        assert host == HOST
        return self.server.get_ready_devices()

    def get_loadbalancer(self, ctx: Any, loadbalancer_id: str) -> dict[str, Any] | None:
        return self.server.get_loadbalancer(loadbalancer_id)

    def update_status(self, ctx: Any, **kwargs: Any) -> None:
        self.server.update_status(**kwargs)

    def update_loadbalancer_stats(self, ctx: Any, loadbalancer_id: str, stats: Any) -> None:
        self.server.update_loadbalancer_stats(loadbalancer_id, stats)

    def loadbalancer_destroyed(self, ctx: Any, loadbalancer_id: str) -> None:
        self.server.loadbalancer_destroyed(loadbalancer_id)

    def report_state(self, ctx: Any, state: dict[str, Any]) -> None:
        self.server.report_state(state)


def wait_until(predicate: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_service_serves_casts_syncs_and_reports_over_rpc() -> None:
    conf = build_conf(report_interval=0.1, stats_interval=0.2)
    transport = make_transport(conf)
    server, device = Server(), Device()
    server.add(make_tree("at-start"))
    plugin_server = make_server(transport, PLUGIN_TOPIC, "server", [PluginEndpoint(server)])
    plugin_server.start()
    service = AgentService(conf, transport, driver=device)
    try:
        service.start()
        assert device.prepared
        assert wait_until(lambda: ("at-start", "ACTIVE", 1, None) in server.statuses)
        assert wait_until(lambda: bool(server.reports))
        server.add(make_tree("by-cast", revision=2))
        AgentApi(transport).cast(HOST, "create_pool", "pool-1", "by-cast")
        assert wait_until(lambda: ("by-cast", "ACTIVE", 2, None) in server.statuses)
        device.members = {"m1": "ONLINE"}
        assert wait_until(lambda: any(s[1]["members"] == {"m1": "ONLINE"} for s in server.stats))
        server.trees["by-cast"]["provisioning_status"] = "PENDING_DELETE"
        AgentApi(transport).cast(HOST, "delete_loadbalancer", "by-cast", "by-cast")
        assert wait_until(lambda: server.destroyed == ["by-cast"])
        assert "by-cast" not in device.deployed
    finally:
        service.stop(timeout=WAIT)
        plugin_server.stop()
        plugin_server.wait()
        transport.cleanup()
    assert "at-start" in device.deployed  # stopping the agent leaves load balancers running
