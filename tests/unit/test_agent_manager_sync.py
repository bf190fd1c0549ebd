"""The agent manager's full sync (``AgentManager.sync_state``): wanted load balancers deployed,
orphans removed (never without the server, never one a cast just saved), trees prefetched in
chunks and used once, a cast during or after a batch fetch wins over the prefetched tree, and a
failed batch fetch falls back to one fetch per load balancer.

Runs on the in-memory doubles of :mod:`tests.unit.agent_doubles`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import oslo_messaging as messaging
import pytest

from lbaas.agent.manager import PREFETCH_CHUNK
from lbaas.core.tree import LoadBalancerTree
from tests.unit.agent_doubles import Agent, make_tree

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


# --- light syncs (RPC 1.3: revisions) ---------------------------------------------------------


def _synced(agent: Agent) -> None:
    agent.manager.sync_state()
    agent.settle()


def _deploys(agent: Agent) -> list[str]:
    return [lb_id for action, lb_id in agent.device.log if action == "deploy"]


def test_a_light_sync_of_unchanged_load_balancers_fetches_and_deploys_nothing(agent: Agent
                                                                               ) -> None:
    for name in ("lb1", "lb2", "lb3"):
        agent.server.add(make_tree(name, status="ACTIVE"))
    _synced(agent)  # the first sync is full: everything built
    assert sorted(_deploys(agent)) == ["lb1", "lb2", "lb3"]
    agent.device.log.clear()
    fetched, batches = list(agent.server.fetched), list(agent.server.batches)
    _synced(agent)
    assert agent.server.revision_reads == 1
    assert _deploys(agent) == []
    assert (agent.server.fetched, agent.server.batches) == (fetched, batches)


def test_a_light_sync_refreshes_what_changed_or_is_missing_and_removes_orphans(agent: Agent
                                                                                ) -> None:
    for name in ("lb1", "lb2", "lb3"):
        agent.server.add(make_tree(name, status="ACTIVE"))
    _synced(agent)
    agent.device.log.clear()
    # lb1 changed while its cast was lost; lb2 vanished from the host; lb3 moved away.
    agent.server.trees["lb1"] = make_tree("lb1", status="ACTIVE", revision=2)
    del agent.device.deployed["lb2"]
    agent.server.ready.discard("lb3")
    _synced(agent)
    assert sorted(_deploys(agent)) == ["lb1", "lb2"]
    assert agent.device.deployed["lb1"][0].revision == 2
    assert ("undeploy", "lb3") in agent.device.log
    assert agent.server.batches[-1] == ["lb1", "lb2"]  # only what is refreshed is fetched


def test_every_nth_sync_is_full(make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(full_resync_every=3)
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    deploys = []
    for _ in range(7):
        agent.device.log.clear()
        _synced(agent)
        deploys.append(len(_deploys(agent)))
    assert deploys == [1, 0, 0, 1, 0, 0, 1]
    assert agent.server.revision_reads == 4


def test_after_the_server_was_lost_the_next_sync_is_full(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    _synced(agent)
    agent.server.down = True
    _synced(agent)
    assert agent.manager.needs_resync
    agent.server.down = False
    agent.device.log.clear()
    _synced(agent)
    assert _deploys(agent) == ["lb1"]
    assert agent.server.revision_reads == 0  # both syncs after the first wanted it full


def test_a_server_older_than_revisions_gets_full_syncs(agent: Agent) -> None:
    agent.server.add(make_tree("lb1", status="ACTIVE"))
    agent.server.revisions_error = messaging.UnsupportedVersion("1.3")
    for _ in range(2):
        agent.device.log.clear()
        _synced(agent)
        assert _deploys(agent) == ["lb1"]
