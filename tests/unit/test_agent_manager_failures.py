"""The agent manager (lbaas.agent.manager) when a deploy fails: a permanent error (config
rejected, unsafe value, invalid tree, unmapped network) sets ERROR without a resync, a haproxy
failure sets ERROR and is retried, a temporary failure (server or netlink) is retried without a
report, and a bug is logged with its traceback and retried, never blamed on the load balancer.

Runs on the in-memory doubles of :mod:`tests.unit.agent_doubles`.
"""

from __future__ import annotations

import pytest

from lbaas.core.request_ids import request_scope
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.process import ConfigRejected, HaproxyError
from tests.unit.agent_doubles import Agent, make_tree


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


def test_a_retry_runs_under_the_request_id_of_the_work_that_failed(agent: Agent) -> None:
    agent.server.add(make_tree("lb1"))
    agent.server.down = True
    with request_scope("req-11111111-1111-4111-8111-111111111111"):
        agent.manager.refresh("lb1")
    assert agent.manager.retries.pending("lb1")
    agent.server.down = False
    agent.manager.retries._due["lb1"] = 0.0  # the retry is due now
    with request_scope("req-22222222-2222-4222-8222-222222222222"):  # the sync loop's pass
        agent.manager.retry_due()
    agent.settle()
    assert [s[1] for s in agent.server.statuses] == ["ACTIVE"]
    assert agent.server.status_request_ids == ["req-11111111-1111-4111-8111-111111111111"]
