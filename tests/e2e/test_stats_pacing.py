"""A quiet load balancer's stats are read rarely, yet what changes it reaches the API at once:
haproxy's health-check events and access lines, read by the agent's log receiver, wake the
reading (:mod:`lbaas.agent.stats_pacing`). Real haproxy, real log sockets, through the API.

The agent here waits up to an hour between two readings of a quiet load balancer, and each test
first pushes the load balancer's pacing to that hour: only the wake-up can bring the change
within the test's wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lbaas.agent.manager import AgentManager
from tests.e2e.stack import Stack, eventually, running_stack
from tests.e2e.traffic import FAST_HTTP_MONITOR, create_lb, member, members_by_name, wait_status
from tests.e2e.traffic_backends import backend

IDLE_INTERVAL = 3600


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    overrides = {"agent": {"stats_idle_interval": IDLE_INTERVAL}}
    with running_stack(tmp_path_factory.mktemp("pacing"), overrides) as built:
        yield built


def quiet_for_an_hour(manager: AgentManager, lb_id: str) -> None:
    """As if ``lb_id`` had been quiet for long: its next reading is an hour of passes away."""
    pacing = manager.stats_pacing
    for _ in range(pacing.max_passes.bit_length() + 1):
        pacing.read(lb_id, quiet=True)
    assert not pacing.due(lb_id)


def _lb(stack: Stack) -> tuple[dict[str, Any], str, dict[str, str]]:
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "members": [member("b1", 11), member("b2", 12)],
                         "healthmonitor": FAST_HTTP_MONITOR}}]})
    pool_id = lb["pools"][0]["id"]
    return lb, pool_id, members_by_name(stack, pool_id)


def test_a_member_going_down_on_a_quiet_load_balancer_is_reported_at_once(stack: Stack) -> None:
    backend(stack, "b1", 11)
    b2 = backend(stack, "b2", 12)
    lb, pool_id, ids = _lb(stack)
    wait_status(stack, pool_id, ids["b2"], "ONLINE")
    manager = stack.agent.manager
    quiet_for_an_hour(manager, lb["id"])
    events = stack.agent.access_logs.counters.events if stack.agent.access_logs else 0

    b2.control(health_code=500)
    wait_status(stack, pool_id, ids["b2"], "ERROR")

    assert stack.agent.access_logs is not None
    assert stack.agent.access_logs.counters.events > events  # haproxy's event woke it
    assert stack.member_status(pool_id, ids["b1"]) == "ONLINE"
    quiet_for_an_hour(manager, lb["id"])
    b2.control(health_code=200)
    wait_status(stack, pool_id, ids["b2"], "ONLINE")


def test_traffic_on_a_quiet_load_balancer_reaches_its_stats(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb, _, _ = _lb(stack)
    manager = stack.agent.manager

    def total_connections() -> int:
        r = stack.api.member.get(f"/loadbalancers/{lb['id']}/stats")
        assert r.status_code == 200, r.text
        return int(r.json()["stats"]["total_connections"])

    eventually(lambda: manager.stats_pacing.waiting() > 0)  # read, sent, backing off
    before = total_connections()
    quiet_for_an_hour(manager, lb["id"])
    for _ in range(5):
        client.http_get(lb["vip_address"], 80, timeout=5)
    eventually(lambda: total_connections() >= before + 5)
