"""End to end: the HAProxy namespace driver (lbaas.drivers.haproxy.namespace_driver), no server.

Each test builds its own lab (tests/netlab.py): a bridge, backends answering WEB01/WEB02, a client,
and hands :class:`LoadBalancerTree` objects built here to the driver, which plugs the VIP into
``qlbaas-<id>`` on the bridge and runs haproxy there. The driver fixture undeploys every load
balancer it was given and the lab removes everything else, also when a test fails; both check
that nothing is left behind.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess

import pytest

from lbaas.core.tree import ListenerNode
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.haproxy.process import Action
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import namespace_path
from tests.e2e.driver.lab import (
    LISTENER_ID,
    POOL_ID,
    SUBNET,
    VIP,
    WEB01,
    WEB02,
    bodies,
    make_tree,
    member,
    member_health,
    wait_until,
)
from tests.e2e.netns_haproxy import Net
from tests.netlab import (
    http_get_here,
    link_names,
    skip_unless_root_and_tools,
    stop_process,
)

pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip", "haproxy", "nsenter")]


# --- tests --------------------------------------------------------------------------------------


def test_deploy_serves_and_alternates_between_backends(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2)])
    assert lb_id not in driver.deployed_ids()

    assert driver.deploy(tree, net.bridge) is Action.STARTED

    assert lb_id in driver.deployed_ids()
    assert lb_id in vip_plug.list_lb_namespaces()
    assert driver.is_healthy(lb_id)
    seen = bodies(net.client, 6)
    assert set(seen) == {WEB01, WEB02}
    assert all(a != b for a, b in itertools.pairwise(seen))
    assert driver.deploy(tree, net.bridge) is Action.UNCHANGED  # idempotent


def test_updates_redeploy_and_traffic_follows(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    driver.deploy(make_tree(lb_id, [member(1)]), net.bridge)
    assert set(bodies(net.client, 4)) == {WEB01}

    # Members only: the running haproxy takes them at runtime (tests/e2e/test_runtime_members.py)
    assert driver.deploy(make_tree(lb_id, [member(1), member(2)]), net.bridge) is Action.UPDATED
    assert set(bodies(net.client, 6)) == {WEB01, WEB02}

    drained = make_tree(lb_id, [member(1, weight=0), member(2)])
    assert driver.deploy(drained, net.bridge) is Action.UPDATED
    assert set(bodies(net.client, 6)) == {WEB02}

    slower = make_tree(lb_id, [member(1, weight=0), member(2)],
                       listeners=[ListenerNode(id=LISTENER_ID, protocol="HTTP", protocol_port=80,
                                               default_pool_id=POOL_ID, timeout_client_data=7000)])
    assert driver.deploy(slower, net.bridge) is Action.RELOADED
    assert set(bodies(net.client, 6)) == {WEB02}


def test_collect_reports_member_health_and_listener_counters(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2), member(3, address=f"{SUBNET}.13")])
    driver.deploy(tree, net.bridge)
    # member-3's address has no host: it goes ERROR while the others come ONLINE.
    expected = {"member-1": "ONLINE", "member-2": "ONLINE", "member-3": "ERROR"}
    assert wait_until(lambda: member_health(driver, tree) == expected)
    bodies(net.client, 4)
    counters = driver.collect(tree)["listeners"][LISTENER_ID]
    assert counters["total_connections"] >= 4
    assert counters["bytes_in"] > 0 and counters["bytes_out"] > 0
    assert counters["request_errors"] == 0
    assert set(counters) == {
        "bytes_in", "bytes_out", "active_connections", "total_connections", "request_errors"
    }


def test_collect_follows_a_backend_going_down_and_up(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2)])
    driver.deploy(tree, net.bridge)
    both_online = {"member-1": "ONLINE", "member-2": "ONLINE"}
    assert wait_until(lambda: member_health(driver, tree) == both_online)

    stop_process(net.web02_server)
    assert wait_until(lambda: member_health(driver, tree)["member-2"] == "ERROR")
    assert set(bodies(net.client, 4)) == {WEB01}

    net.web02.http_server(WEB02)
    assert wait_until(lambda: member_health(driver, tree) == both_online)
    assert set(bodies(net.client, 6)) == {WEB01, WEB02}


def test_members_without_checks_are_not_reported(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2)])
    unchecked = tree.model_copy(
        update={"pools": [tree.pools[0].model_copy(update={"healthmonitor": None})]}
    )
    driver.deploy(unchecked, net.bridge)
    assert driver.collect(unchecked)["members"] == {}
    assert set(bodies(net.client, 4)) == {WEB01, WEB02}


def test_disabled_load_balancer_keeps_its_namespace_but_serves_nothing(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2)])
    driver.deploy(tree, net.bridge)
    assert set(bodies(net.client, 2)) == {WEB01, WEB02}

    driver.deploy(tree.model_copy(update={"admin_state_up": False}), net.bridge)

    assert lb_id in vip_plug.list_lb_namespaces()
    assert driver.is_healthy(lb_id)
    with pytest.raises(ConnectionRefusedError):
        net.client.call(http_get_here, VIP, 80, "/", 2.0)
    driver.deploy(tree, net.bridge)
    assert set(bodies(net.client, 2)) == {WEB01, WEB02}


def test_unrenderable_tree_changes_nothing(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    bad = make_tree(lb_id, [member(1, protocol_port=70000)])
    with pytest.raises(UnsafeConfigValue):
        driver.deploy(bad, net.bridge)
    assert lb_id not in driver.deployed_ids()
    assert lb_id not in vip_plug.list_lb_namespaces()


def test_unknown_bridge_is_refused(driver: HaproxyNamespaceDriver, lb_id: str) -> None:
    with pytest.raises(vip_plug.BridgeNotFound):
        driver.deploy(make_tree(lb_id, [member(1)]), "lbtnosuchbr")
    assert lb_id not in vip_plug.list_lb_namespaces()


def test_undeploy_removes_everything_and_is_idempotent(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    driver.deploy(make_tree(lb_id, [member(1), member(2)]), net.bridge)
    state_dir = driver.lbs_dir / lb_id
    assert state_dir.is_dir()

    driver.undeploy(lb_id)

    assert lb_id not in driver.deployed_ids()
    assert lb_id not in vip_plug.list_lb_namespaces()
    assert vip_plug.outer_ifname(lb_id) not in link_names()
    assert not state_dir.exists()
    assert not driver.is_healthy(lb_id)
    with pytest.raises(OSError):
        net.client.call(http_get_here, VIP, 80, "/", 2.0)
    driver.undeploy(lb_id)


def test_dead_haproxy_is_noticed_and_redeploy_restarts_it(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2)])
    driver.deploy(tree, net.bridge)
    assert not driver.still_running(lb_id)  # the cheap check knows only what is_healthy found
    assert driver.is_healthy(lb_id)
    assert driver.still_running(lb_id)
    driver.process(lb_id).stop(graceful=False)
    assert not driver.still_running(lb_id)  # no socket asked: the master's pid is gone
    assert not driver.is_healthy(lb_id)
    assert lb_id in driver.deployed_ids()  # still ours: sync_state repairs it

    assert driver.deploy(tree, net.bridge) is Action.STARTED
    assert set(bodies(net.client, 4)) == {WEB01, WEB02}


def plug_identity(lb_id: str) -> tuple[int, int]:
    """The namespace's inode and the outer veth's ifindex (a re-plug from scratch makes a new
    veth; a new namespace may reuse a freed inode number)."""
    inode = os.stat(namespace_path(vip_plug.namespace_name(lb_id))).st_ino
    return inode, socket.if_nametoindex(vip_plug.outer_ifname(lb_id))


def test_unchanged_redeploy_verifies_without_touching_anything(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2)])
    assert driver.deploy(tree, net.bridge) is Action.STARTED
    before = plug_identity(lb_id), driver.process(lb_id).proc_info()
    mark = (driver.lbs_dir / lb_id / "haproxy.cfg.applied").stat().st_mtime_ns

    assert driver.deploy(tree, net.bridge) is Action.UNCHANGED

    assert (plug_identity(lb_id), driver.process(lb_id).proc_info()) == before
    assert (driver.lbs_dir / lb_id / "haproxy.cfg.applied").stat().st_mtime_ns == mark
    subnet = tree.vip_subnet
    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, subnet.gateway_ip) is False  # plugged
    assert set(bodies(net.client, 4)) == {WEB01, WEB02}


def test_namespace_deleted_by_hand_is_rebuilt_by_redeploy(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    tree = make_tree(lb_id, [member(1), member(2)])
    driver.deploy(tree, net.bridge)
    before = plug_identity(lb_id)
    assert driver.is_healthy(lb_id)
    subprocess.run(["ip", "netns", "delete", vip_plug.namespace_name(lb_id)], check=True)
    assert not driver.still_running(lb_id)
    assert not driver.is_healthy(lb_id)  # haproxy runs on, in a namespace without a name

    assert driver.deploy(tree, net.bridge) is Action.STARTED

    after = plug_identity(lb_id)
    assert after[1] != before[1]  # a new veth (the old one went with the old namespace)
    assert driver.is_healthy(lb_id)
    assert set(bodies(net.client, 4)) == {WEB01, WEB02}
    assert driver.deploy(tree, net.bridge) is Action.UNCHANGED
    assert plug_identity(lb_id) == after


def test_probe_hears_the_vip_until_a_stopped_copy_is_fenced(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    """A copy whose haproxy died (its node was lost, then came back) is disconnected at agent
    start: its VIP stops answering ARP, as the probe of another node sees, until a deploy plugs
    it again. A copy with haproxy running is left serving."""
    tree = make_tree(lb_id, [member(1), member(2)])
    driver.deploy(tree, net.bridge)
    assert driver.answering(net.bridge, [VIP, f"{SUBNET}.99"]) == {VIP}
    assert driver.fence_stopped() == []  # running: untouched
    assert set(bodies(net.client, 2)) == {WEB01, WEB02}

    driver.process(lb_id).stop(graceful=False)
    assert driver.fence_stopped() == [lb_id]
    assert driver.answering(net.bridge, [VIP]) == set()

    assert driver.deploy(tree, net.bridge) is Action.STARTED
    assert driver.answering(net.bridge, [VIP]) == {VIP}
    assert set(bodies(net.client, 4)) == {WEB01, WEB02}
