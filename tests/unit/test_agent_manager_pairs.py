"""The agent manager (lbaas.agent.manager) with a copy of an ACTIVE_STANDBY load balancer: it
builds its own copy and reports on it (not on the whole load balancer), removes its copy when the
tree no longer names this host, hands the VIP over on a planned switch only when it holds it and
the other copy is built, rebuilds a copy being failed over, reports VRRP roles as they change,
restarts a copy whose keepalived is gone, and lets only the MASTER send stats.

Runs on the in-memory doubles of :mod:`tests.unit.agent_doubles`.
"""

from __future__ import annotations

from typing import Any

from tests.unit.agent_doubles import HOST, Agent, make_tree


def pair_tree(lb_id: str = "lb1", mine: str = "ALLOCATED", other: str = "ALLOCATED",
              other_host: str | None = "node-2", **overrides: Any) -> dict[str, Any]:
    copies = [
        {"id": "amp-a", "position": 0, "host": HOST, "vrrp_ip": "10.0.0.21",
         "vrrp_priority": 100, "status": mine},
        {"id": "amp-b", "position": 1, "host": other_host, "vrrp_ip": "10.0.0.22",
         "vrrp_priority": 90, "status": other},
    ]
    return make_tree(lb_id, topology="ACTIVE_STANDBY", amphorae=copies, **overrides)


def test_a_copy_is_built_with_its_node_and_reported_as_a_copy(agent: Agent) -> None:
    agent.server.add(pair_tree(mine="PENDING_CREATE", other="PENDING_CREATE", revision=4))
    agent.manager.refresh("lb1")
    built = agent.device.copies["lb1"]
    assert built is not None and built.id == "amp-a" and built.vrrp_ip == "10.0.0.21"
    assert agent.server.statuses == []  # the pair's change closes when both copies reported
    assert agent.server.copy_reports == [("lb1", "ALLOCATED", None, 4, None)]


def test_a_built_copy_stays_quiet_on_resync(agent: Agent) -> None:
    agent.server.add(pair_tree(status="ACTIVE"))
    agent.manager.refresh("lb1")
    assert ("deploy", "lb1") in agent.device.log
    assert agent.server.copy_reports == [] and agent.server.statuses == []


def test_a_failed_copy_reports_error_with_the_reason(agent: Agent) -> None:
    from lbaas.drivers.haproxy.process import ConfigRejected

    agent.server.add(pair_tree(mine="PENDING_CREATE", revision=2))
    agent.device.errors["lb1"] = ConfigRejected("[ALERT] no such keyword")
    agent.manager.refresh("lb1")
    [(lb_id, status, role, revision, reason)] = agent.server.copy_reports
    assert (lb_id, status, role, revision) == ("lb1", "ERROR", None, 2)
    assert reason is not None and "no such keyword" in reason


def test_the_copy_is_removed_when_the_tree_no_longer_names_this_host(agent: Agent) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    moved = pair_tree()
    moved["amphorae"][0]["host"] = "node-3"
    agent.server.add(moved)
    agent.manager.refresh("lb1")
    assert agent.device.log[-1] == ("undeploy", "lb1")
    assert "lb1" not in agent.device.deployed
    assert agent.server.destroyed == []  # the load balancer lives on, elsewhere


def test_a_planned_switch_hands_over_only_from_the_master(agent: Agent) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    agent.device.roles["lb1"] = "BACKUP"
    agent.manager.refresh("lb1", rebuild=True)
    assert ("hand_over", "lb1") not in agent.device.log
    agent.device.roles["lb1"] = "MASTER"
    agent.manager.refresh("lb1", rebuild=True)
    assert ("hand_over", "lb1") in agent.device.log
    assert ("undeploy", "lb1") not in agent.device.log  # haproxy finishes its connections


def test_no_hand_over_while_the_other_copy_is_not_built(agent: Agent) -> None:
    agent.server.add(pair_tree(other="PENDING_CREATE"))
    agent.manager.refresh("lb1")
    agent.device.roles["lb1"] = "MASTER"
    agent.manager.refresh("lb1", rebuild=True)
    assert ("hand_over", "lb1") not in agent.device.log


def test_a_copy_being_failed_over_is_rebuilt_from_scratch(agent: Agent) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    agent.server.add(pair_tree(mine="PENDING_CREATE"))
    agent.manager.refresh("lb1", rebuild=True)
    assert agent.device.log[-2:] == [("undeploy", "lb1"), ("deploy", "lb1")]


def test_roles_are_reported_as_they_change(agent: Agent) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    agent.manager.watch_roles()
    agent.manager.watch_roles()
    agent.device.roles["lb1"] = "MASTER"
    agent.manager.watch_roles()
    roles = [(lb_id, role) for lb_id, _status, role, _rev, _why in agent.server.copy_reports
             if role is not None]
    assert roles == [("lb1", "BACKUP"), ("lb1", "MASTER")]


def test_a_role_report_that_fails_is_sent_again(agent: Agent) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    agent.server.down = True
    agent.manager.watch_roles()
    agent.server.down = False
    agent.manager.watch_roles()
    assert [r[2] for r in agent.server.copy_reports if r[2]] == ["BACKUP"]


def test_a_copy_whose_keepalived_is_gone_is_refreshed(agent: Agent) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    deploys = agent.device.log.count(("deploy", "lb1"))
    agent.device.roles["lb1"] = None  # keepalived not running
    agent.manager.watch_roles()
    agent.settle()
    assert agent.device.log.count(("deploy", "lb1")) == deploys + 1


def test_only_the_master_copy_sends_stats(agent: Agent) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    agent.device.members = {"m1": "ONLINE"}
    agent.manager.watch_roles()  # BACKUP
    agent.manager.collect_stats()
    assert agent.server.stats == []
    agent.device.roles["lb1"] = "MASTER"
    agent.manager.watch_roles()
    agent.manager.collect_stats()
    assert [lb_id for lb_id, _stats in agent.server.stats] == ["lb1"]
