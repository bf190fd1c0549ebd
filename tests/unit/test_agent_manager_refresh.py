"""The agent manager (lbaas.agent.manager) on casts and refreshes: every cast deploys the tree
and reports ACTIVE, bursts coalesce, a refresh reports only what is pending, a deleted load
balancer is undeployed and confirmed, a failover undeploys then deploys.

Runs on the in-memory doubles of :mod:`tests.unit.agent_doubles`; the real work queue runs the
jobs on real threads and the tests wait for it with bounded joins.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from lbaas.agent.endpoint import AgentRpcEndpoint
from lbaas.core.tree import LoadBalancerTree
from lbaas.rpc.topics import RPC_NAMESPACE
from tests.unit.agent_doubles import Agent, make_tree

AGENT_METHODS = {
    f"{action}_{kind}"
    for action in ("create", "update", "delete")
    for kind in (
        "loadbalancer", "listener", "pool", "member", "health_monitor", "l7policy", "l7rule"
    )
} | {"failover_loadbalancer"}


# --- casts and refresh -------------------------------------------------------------------------


def test_endpoint_exposes_exactly_the_agent_casts() -> None:
    public = {name for name in dir(AgentRpcEndpoint) if not name.startswith("_")}
    assert public == AGENT_METHODS | {"target", "probe_addresses"}
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


def test_failover_undeploys_then_deploys(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.manager.refresh("lb1")
    agent.endpoint.failover_loadbalancer({}, obj_id="lb1", loadbalancer_id="lb1")
    agent.settle()
    assert agent.device.log == [("deploy", "lb1"), ("undeploy", "lb1"), ("deploy", "lb1")]


# --- moved away, probes --------------------------------------------------------------------------


def test_a_tree_placed_on_another_host_removes_this_copy_without_telling_the_server(
        agent: Agent) -> None:
    """Moved off this agent (it was dead, or failed over): a cast, a retry or a sync that
    reaches it removes its copy, and never reports about a load balancer it no longer hosts."""
    agent.device.deployed["lb1"] = (LoadBalancerTree.model_validate(make_tree("lb1")), "br-1")
    agent.server.add(make_tree("lb1", status="PENDING_UPDATE", agent_host="node-elsewhere"))
    agent.endpoint.failover_loadbalancer({}, obj_id="lb1", loadbalancer_id="lb1")
    agent.settle()
    assert "lb1" not in agent.device.deployed
    assert ("deploy", "lb1") not in agent.device.log
    assert agent.server.statuses == [] and agent.server.destroyed == []


def test_a_tree_placed_on_this_host_is_deployed(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", agent_host=agent.server.host))
    agent.endpoint.update_loadbalancer({}, obj_id="lb1", loadbalancer_id="lb1")
    agent.settle()
    assert "lb1" in agent.device.deployed


def test_probe_answers_for_a_mapped_network_only(agent: Agent) -> None:
    agent.device.heard = {"10.0.0.10"}
    found = agent.endpoint.probe_addresses({}, network_id="net-1", network_name="private",
                                           addresses=["10.0.0.10", "10.0.0.11"])
    assert found == ["10.0.0.10"]
    assert ("probe", "br-1") in agent.device.log
    assert agent.endpoint.probe_addresses({}, network_id="other", network_name="other",
                                          addresses=["10.0.0.10"]) is None


# --- a cast that carries its member change -----------------------------------------------------


def _member_change(revision: int, member_id: str = "m2") -> dict[str, Any]:
    return {"revision": revision, "provisioning_status": "PENDING_UPDATE", "pool_id": "pool-1",
            "member": {"id": member_id, "address": "10.0.0.12", "protocol_port": 80,
                       "provisioning_status": "PENDING_CREATE"}}


def _deployed_at(agent: Agent, revision: int) -> None:
    agent.server.add(make_tree("lb1", "PENDING_UPDATE", revision=revision))
    agent.endpoint.update_pool({}, obj_id="pool-1", loadbalancer_id="lb1")
    agent.settle()
    agent.server.fetched.clear()
    agent.server.statuses.clear()


def test_a_member_change_following_the_deployed_revision_needs_no_fetch(agent: Agent) -> None:
    _deployed_at(agent, 4)
    agent.endpoint.create_member({}, obj_id="m2", loadbalancer_id="lb1",
                                 member_change=_member_change(5))
    agent.settle()
    assert agent.server.fetched == []
    tree = agent.device.deployed["lb1"][0]
    assert tree.revision == 5
    assert [m.id for m in tree.pools[0].members] == ["m1", "m2"]
    assert agent.server.statuses == [("lb1", "ACTIVE", 5, None)]


@pytest.mark.parametrize("change", [
    pytest.param(_member_change(7), id="a revision skipped"),
    pytest.param(_member_change(4), id="the revision deployed"),
    pytest.param({"revision": 5, "member": {"id": "m2"}}, id="unreadable"),
])
def test_a_member_change_that_does_not_follow_means_a_fetch(
        agent: Agent, change: dict[str, Any]) -> None:
    _deployed_at(agent, 4)
    agent.server.add(make_tree("lb1", "PENDING_UPDATE", revision=7))
    agent.endpoint.create_member({}, obj_id="m2", loadbalancer_id="lb1", member_change=change)
    agent.settle()
    assert agent.server.fetched == ["lb1"]
    assert agent.device.deployed["lb1"][0].revision == 7
    assert agent.server.statuses == [("lb1", "ACTIVE", 7, None)]


def test_a_later_cast_without_a_member_change_means_a_fetch(agent: Agent) -> None:
    _deployed_at(agent, 4)
    agent.device.gate = threading.Event()  # a refresh of lb1 runs and waits in its deploy
    agent.endpoint.update_pool({}, obj_id="pool-1", loadbalancer_id="lb1")
    deadline = time.monotonic() + 10
    while agent.server.fetched != ["lb1"] and time.monotonic() < deadline:
        time.sleep(0.005)
    assert agent.server.fetched == ["lb1"], "the first refresh did not start"
    # Queued behind it: a member change, then a cast without one (the server's tree changed).
    agent.endpoint.create_member({}, obj_id="m2", loadbalancer_id="lb1",
                                 member_change=_member_change(5))
    agent.endpoint.update_pool({}, obj_id="pool-1", loadbalancer_id="lb1")
    agent.device.gate.set()
    agent.settle()
    assert agent.server.fetched == ["lb1", "lb1"]
    assert [m.id for m in agent.device.deployed["lb1"][0].pools[0].members] == ["m1"]
