"""The agent manager's stats pass and heartbeats: what is sent when (changes at once, counters
every few passes, unchanged stats seldom), a dead haproxy is restarted from the stats pass (even
while the server is down, but not in a loop), and the report_state payload.

Runs on the in-memory doubles of :mod:`tests.unit.agent_doubles`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lbaas.agent.manager import AgentManager
from lbaas.agent.stats_ledger import COUNTERS_EVERY, RESEND_EVERY
from lbaas.core.tree import LoadBalancerTree
from lbaas.drivers.haproxy.process import ConfigRejected
from tests.unit.agent_doubles import (
    HOST,
    NETWORK_ID,
    WAIT,
    Agent,
    Device,
    Server,
    build_conf,
    make_tree,
)

# --- stats and heartbeats ----------------------------------------------------------------------


def test_stats_sent_on_member_change_and_changed_counters_every_n_passes(
        make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(stats_idle_interval=0)  # every pass reads: the ledger alone decides
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


def test_unchanged_stats_are_sent_again_only_every_resend_passes(
        make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(stats_idle_interval=0)
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
    manager = AgentManager(build_conf(stats_idle_interval=0), server, device, stopping=stopping)
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


# --- pacing: quiet load balancers are read rarely, busy ones every pass -------------------------


def paced_agent(make_agent: Callable[..., Agent], *lb_ids: str) -> Agent:
    """An agent whose quiet load balancers go at most 8 passes unread, with ``lb_ids`` ACTIVE."""
    agent = make_agent(stats_interval=1, stats_idle_interval=8)
    for lb_id in lb_ids:
        agent.server.add(make_tree(lb_id, status="ACTIVE"))
        agent.manager.refresh(lb_id)
    agent.device.members = {"m1": "ONLINE"}
    agent.device.listeners = {"l1": {"bytes_in": 1}}
    return agent


def passes_reading(agent: Agent, lb_id: str, passes: int) -> list[int]:
    """Run ``passes`` stats passes: those (1-based) that read ``lb_id``."""
    read = []
    for number in range(1, passes + 1):
        before = agent.device.reads.count(lb_id)
        agent.manager.collect_stats()
        if agent.device.reads.count(lb_id) > before:
            read.append(number)
    return read


def test_a_quiet_load_balancer_is_read_rarely_but_checked_every_pass(
        make_agent: Callable[..., Agent]) -> None:
    agent = paced_agent(make_agent, "lb1")
    assert passes_reading(agent, "lb1", 24) == [1, 3, 7, 15, 23]
    assert len(agent.server.stats) == 1  # the server has had it all since the first reading
    assert agent.device.health_checks == 0  # the cheap check found it running every pass


def test_a_haproxy_that_died_while_its_load_balancer_was_quiet_is_restarted_at_the_next_pass(
        make_agent: Callable[..., Agent]) -> None:
    agent = paced_agent(make_agent, "lb1")
    passes_reading(agent, "lb1", 8)
    agent.device.healthy.discard("lb1")
    agent.manager.collect_stats()  # not due for a reading: the cheap check finds it dead
    agent.settle()
    assert agent.device.log == [("deploy", "lb1"), ("deploy", "lb1")]


def test_activity_makes_a_quiet_load_balancer_read_and_sent_at_the_next_pass(
        make_agent: Callable[..., Agent]) -> None:
    agent = paced_agent(make_agent, "lb1", "lb2")
    passes_reading(agent, "lb1", 8)
    agent.device.members = {"m1": "ERROR"}  # what haproxy's health-check event announces
    agent.manager.stats_activity("lb1")  # the log receiver saw it
    agent.manager.collect_stats()
    assert agent.device.reads[-1:] == ["lb1"]  # lb2, still quiet, was not read
    assert agent.server.stats[-1] == ("lb1", {"listeners": {"l1": {"bytes_in": 1}},
                                              "members": {"m1": "ERROR"}})


def test_a_load_balancer_with_traffic_is_read_every_pass_until_its_counters_are_sent(
        make_agent: Callable[..., Agent]) -> None:
    agent = paced_agent(make_agent, "lb1")
    passes_reading(agent, "lb1", 8)
    agent.device.listeners = {"l1": {"bytes_in": 2}}
    agent.manager.stats_activity("lb1")  # requests were logged
    sent_before, passes, read = len(agent.server.stats), 0, 0
    while len(agent.server.stats) == sent_before:  # the ledger holds changed counters back
        passes += 1
        read += len(passes_reading(agent, "lb1", 1))
        assert passes <= COUNTERS_EVERY
    assert agent.server.stats[-1][1]["listeners"] == {"l1": {"bytes_in": 2}}
    assert read == passes > 1  # read every pass while the server lacked the new counters...
    assert passes_reading(agent, "lb1", 2) == [2]  # ...then quiet again: backing off


def test_a_load_balancer_draining_servers_is_read_every_pass(
        make_agent: Callable[..., Agent]) -> None:
    agent = paced_agent(make_agent, "lb1")
    passes_reading(agent, "lb1", 8)
    agent.device.drains.add("lb1")
    assert passes_reading(agent, "lb1", 3) == [1, 2, 3]
    agent.device.drains.discard("lb1")
    assert passes_reading(agent, "lb1", 3) == []  # quiet readings: the backoff went on


def test_a_deploy_makes_its_load_balancer_read_at_the_next_pass(
        make_agent: Callable[..., Agent]) -> None:
    agent = paced_agent(make_agent, "lb1")
    passes_reading(agent, "lb1", 8)
    agent.server.add(make_tree("lb1", status="PENDING_UPDATE", revision=2))
    agent.manager.refresh("lb1")
    assert passes_reading(agent, "lb1", 1) == [1]


def test_stats_that_could_not_be_sent_are_read_and_sent_at_the_next_pass(
        make_agent: Callable[..., Agent]) -> None:
    agent = paced_agent(make_agent, "lb1")
    agent.server.down = True
    assert passes_reading(agent, "lb1", 3) == [1, 2, 3]
    assert agent.server.stats == []
    agent.server.down = False
    assert passes_reading(agent, "lb1", 3) == [1, 3]
    assert len(agent.server.stats) == 1


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
            "availability_zone": "nova",
            "configurations": {
                "bridge_mappings": {NETWORK_ID: "br-1"},
                "load_balancers": 1,
                "device_drivers": ["haproxy_ns"],
            },
            "start_flag": True,  # the first heartbeat: the agent (re)started
        }
    ]
    agent.manager.report_state()
    assert "start_flag" not in agent.server.reports[1]


def test_heartbeat_back_after_a_failure_asks_for_a_full_sync(agent: Agent) -> None:
    """Casts sent while the agent was unreachable (a broker restart drops them) are repaired by
    a full sync as soon as a heartbeat gets through again."""
    agent.manager.report_state()
    agent.manager.needs_resync = False
    agent.server.down = True
    agent.manager.report_state()
    assert not agent.manager.needs_resync  # nothing to sync with while the server is away
    agent.server.down = False
    agent.manager.report_state()
    assert agent.manager.needs_resync
    assert len(agent.server.reports) == 2
