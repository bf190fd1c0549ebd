"""Which config changes the runtime API takes (lbaas.drivers.haproxy.runtime_plan): configs rendered
by the real renderer from trees, compared as the namespace driver compares them."""

from __future__ import annotations

from typing import Any

import pytest

from lbaas.core.tree import (
    HealthMonitorNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
    SessionPersistenceNode,
    SubnetNode,
)
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.runtime_plan import parse_config, plan_runtime_change
from lbaas.drivers.haproxy.view import ConfigRuntimePaths

PATHS = ConfigRuntimePaths(stats_socket="/run/s.sock", server_state_file="/run/state",
                           metrics_socket="/run/m.sock", listener_metrics_socket="/run/l.sock",
                           log_socket="/run/log.sock", access_log_socket="/run/access.sock")


def member(number: int, **fields: Any) -> MemberNode:
    return MemberNode(**{"id": f"m{number}", "address": f"10.0.0.{number}", "protocol_port": 80}
                      | fields)


def config(members: list[MemberNode], *, listener: dict[str, Any] | None = None,
           **pool: Any) -> str:
    pool_node = PoolNode(**{"id": "p1", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                            "members": members} | pool)
    tree = LoadBalancerTree(
        id="lb1", project_id="pr", provisioning_status="ACTIVE", vip_address="10.0.0.100",
        vip_network_id="n1",
        vip_subnet=SubnetNode(id="s1", network_id="n1", cidr="10.0.0.0/24"),
        listeners=[ListenerNode(**{"id": "l1", "protocol": "HTTP", "protocol_port": 80,
                                   "default_pool_id": "p1"} | (listener or {}))],
        pools=[pool_node])
    return render_haproxy_config(tree, PATHS)


MONITOR = HealthMonitorNode(id="hm1", type="HTTP", delay=2, timeout=1, max_retries=2)


def test_parse_config_separates_the_servers_of_each_backend() -> None:
    parsed = parse_config(config([member(1), member(2, weight=0, backup=True)]))
    backend = parsed.backends["p1"]
    assert list(backend.servers) == ["m1", "m2"]
    assert backend.servers["m2"].weight == 0 and "backup" in backend.servers["m2"].args
    assert backend.dynamic_weights and backend.dynamic_servers
    assert not any(line.strip().startswith("server m") for line in parsed.skeleton)
    # the log rings' "server agent" lines are not members: they stay in the skeleton
    assert any("server agent" in line for line in parsed.skeleton)


@pytest.mark.parametrize("monitor", [None, MONITOR])
def test_member_changes_are_planned_per_backend(monitor: HealthMonitorNode | None) -> None:
    before = config([member(1), member(2)], healthmonitor=monitor)
    after = config([member(1, weight=7), member(2, admin_state_up=False), member(3)],
                   healthmonitor=monitor)
    plan = plan_runtime_change(before, after)
    assert plan is not None and set(plan.backends) == {"p1"}
    wanted = plan.backends["p1"].servers
    assert (wanted["m1"].weight, wanted["m2"].disabled, wanted["m3"].checked) == (
        7, True, monitor is not None)


def test_removal_and_server_order_alone() -> None:
    plan = plan_runtime_change(config([member(1), member(2)]), config([member(1)]))
    assert plan is not None and list(plan.backends["p1"].servers) == ["m1"]
    reordered = plan_runtime_change(config([member(1), member(2)]),
                                    config([member(2), member(1)]))
    assert reordered is not None and not reordered  # nothing to tell haproxy
    assert plan_runtime_change(config([member(1)]), config([member(1)])) is not None


@pytest.mark.parametrize("change", [
    pytest.param({"listener": {"connection_limit": 10}}, id="listener"),
    pytest.param({"healthmonitor": MONITOR}, id="monitor added"),
    pytest.param({"lb_algorithm": "LEAST_CONNECTIONS"}, id="algorithm"),
])
def test_anything_but_servers_needs_a_reload(change: dict[str, Any]) -> None:
    assert plan_runtime_change(config([member(1)]), config([member(1), member(2)], **change)) \
        is None


def test_server_options_the_runtime_api_cannot_change_need_a_reload() -> None:
    base = config([member(1), member(2)], healthmonitor=MONITOR)
    assert plan_runtime_change(base, config([member(1), member(2, backup=True)],
                                            healthmonitor=MONITOR)) is None
    assert plan_runtime_change(base, config([member(1), member(2, monitor_port=8080)],
                                            healthmonitor=MONITOR)) is None


@pytest.mark.parametrize("pool", [
    pytest.param({"lb_algorithm": "SOURCE_IP"}, id="balance source"),
    pytest.param({"lb_algorithm": "SOURCE_IP_PORT"}, id="balance hash"),
])
def test_static_algorithms_take_no_runtime_change(pool: dict[str, Any]) -> None:
    assert plan_runtime_change(config([member(1)], **pool),
                               config([member(1), member(2)], **pool)) is None
    assert plan_runtime_change(config([member(1)], **pool),
                               config([member(1, weight=3)], **pool)) is None


def test_cookie_persistence_takes_weights_but_not_new_servers() -> None:
    cookie: dict[str, Any] = {"session_persistence": SessionPersistenceNode(type="HTTP_COOKIE")}
    assert plan_runtime_change(config([member(1)], **cookie),
                               config([member(1), member(2)], **cookie)) is None
    plan = plan_runtime_change(config([member(1), member(2)], **cookie),
                               config([member(1), member(2, weight=4)], **cookie))
    assert plan is not None and plan.backends["p1"].servers["m2"].weight == 4


def test_a_quoted_word_on_a_new_server_needs_a_reload() -> None:
    """The runtime CLI splits on spaces and knows no quotes: a server line with a quoted file
    name (a re-encrypting pool's CA) is added by a reload."""
    before = "backend p1\n    balance roundrobin\n    server m1 10.0.0.1:80 weight 1\n"
    after = before + "    server m2 10.0.0.2:80 weight 1 ssl ca-file '/a b/ca.pem'\n"
    assert plan_runtime_change(before, after) is None
    plain = before + "    server m2 10.0.0.2:80 weight 1 ssl verify none\n"
    assert plan_runtime_change(before, plain) is not None
