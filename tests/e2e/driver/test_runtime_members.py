"""End to end: member changes through the running haproxy's runtime API, without a reload.

The namespace driver on the lab of tests/e2e/driver/lab.py (WEB01, WEB02, a client): a change of
members only is applied through the stats socket (Action.UPDATED) and installed in haproxy.cfg,
so the same haproxy (master and worker, no reload counted by ``show proc``) serves the new
members and a later reload keeps them; anything else reloads; the running servers are compared
with the wanted ones, so drift (a change made by hand, an agent that died halfway) is repaired;
a removed member is drained (maintenance at once, deleted when its connections end).
"""

from __future__ import annotations

import csv
import socket

import pytest

from lbaas.core.tree import LoadBalancerTree, SessionPersistenceNode
from lbaas.drivers.haproxy.master_cli import ProcInfo
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.haproxy.process import Action
from lbaas.drivers.haproxy.stats import ServerRuntimeState
from tests.e2e.driver.lab import (
    POOL_ID,
    VIP,
    WEB01,
    WEB02,
    bodies,
    driver_conf,
    make_tree,
    member,
    wait_until,
)
from tests.e2e.netns_haproxy import Net
from tests.netlab import skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip", "haproxy", "nsenter")]


def processes(driver: HaproxyNamespaceDriver, lb_id: str) -> ProcInfo:
    info = driver.process(lb_id).proc_info()
    assert info is not None
    return info


def running_servers(driver: HaproxyNamespaceDriver, lb_id: str) -> dict[str, ServerRuntimeState]:
    return {state.name: state for state in driver.process(lb_id).stats().show_servers_state()
            if state.backend == POOL_ID}


def stats_command(driver: HaproxyNamespaceDriver, lb_id: str, command: str) -> str:
    return driver.process(lb_id).stats().command(command).strip()


def test_member_changes_run_without_a_reload_and_survive_one(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    assert driver.deploy(make_tree(lb_id, [member(1)]), net.bridge) is Action.STARTED
    before = processes(driver, lb_id)
    steps: list[tuple[LoadBalancerTree, set[str]]] = [
        (make_tree(lb_id, [member(1), member(2)]), {WEB01, WEB02}),  # add
        (make_tree(lb_id, [member(1, weight=0), member(2)]), {WEB02}),  # weight 0: drained
        (make_tree(lb_id, [member(1, weight=3), member(2, admin_state_up=False)]), {WEB01}),
        (make_tree(lb_id, [member(1, weight=3), member(2)]), {WEB01, WEB02}),  # enabled again
        (make_tree(lb_id, [member(2)]), {WEB02}),  # remove
        (make_tree(lb_id, [member(2), member(1)]), {WEB01, WEB02}),  # add it back
    ]
    for tree, answering in steps:
        assert driver.deploy(tree, net.bridge) is Action.UPDATED
        assert set(bodies(net.client, 8)) == answering
        assert driver.deploy(tree, net.bridge) is Action.UNCHANGED

    assert processes(driver, lb_id) == before  # same master, same worker, no reload
    config = driver.process(lb_id).paths.config.read_text()
    assert "server member-1 " in config and "server member-2 " in config
    # What ran at runtime is what haproxy.cfg says: a reload (an operator's, a restart) keeps it.
    driver.process(lb_id).reload()
    assert processes(driver, lb_id).reloads == before.reloads + 1
    assert set(bodies(net.client, 8)) == {WEB01, WEB02}
    assert {name: state.user_weight for name, state in running_servers(driver, lb_id).items()} \
        == {"member-1": 1, "member-2": 1}


def test_a_change_beyond_members_reloads(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    """A listener's timeout, a new monitor setting, or a member in a pool whose algorithm or
    persistence haproxy cannot take dynamic servers in: a reload, as before."""
    driver.deploy(make_tree(lb_id, [member(1)]), net.bridge)
    slower_checks = make_tree(lb_id, [member(1)], monitor={"delay": 2})
    assert driver.deploy(slower_checks, net.bridge) is Action.RELOADED

    by_source = {"lb_algorithm": "SOURCE_IP"}
    assert driver.deploy(make_tree(lb_id, [member(1)], pool=by_source), net.bridge) \
        is Action.RELOADED
    assert driver.deploy(make_tree(lb_id, [member(1), member(2)], pool=by_source), net.bridge) \
        is Action.RELOADED  # balance source: a static algorithm

    cookies = {"session_persistence": SessionPersistenceNode(type="HTTP_COOKIE")}
    assert driver.deploy(make_tree(lb_id, [member(1)], pool=cookies), net.bridge) \
        is Action.RELOADED
    assert driver.deploy(make_tree(lb_id, [member(1), member(2)], pool=cookies), net.bridge) \
        is Action.RELOADED  # haproxy takes no cookie on a dynamic server
    reweighted = make_tree(lb_id, [member(1), member(2, weight=5)], pool=cookies)
    assert driver.deploy(reweighted, net.bridge) is Action.UPDATED  # a weight: at runtime
    assert running_servers(driver, lb_id)["member-2"].user_weight == 5
    assert set(bodies(net.client, 8)) == {WEB01, WEB02}


def test_running_servers_are_compared_not_assumed(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    """What haproxy runs is read before a change: a server deleted, reweighted or disabled by
    hand, or added by an agent that died before installing the config, is brought back to the
    wanted state by the next change."""
    driver.deploy(make_tree(lb_id, [member(1), member(2)]), net.bridge)
    before = processes(driver, lb_id)
    # By hand: member-1 disabled and reweighted, member-2 deleted, a stray server added.
    assert stats_command(driver, lb_id, f"set server {POOL_ID}/member-1 state maint") == ""
    assert stats_command(driver, lb_id, f"set server {POOL_ID}/member-1 weight 9") == ""
    assert stats_command(driver, lb_id, f"set server {POOL_ID}/member-2 state maint") == ""
    assert stats_command(driver, lb_id, f"del server {POOL_ID}/member-2") == "Server deleted."
    assert stats_command(driver, lb_id, f"add server {POOL_ID}/stray {VIP}:81 weight 1") \
        == "New server registered."
    assert stats_command(driver, lb_id, f"set server {POOL_ID}/stray state ready") == ""

    wanted = make_tree(lb_id, [member(1, weight=2), member(2)])
    assert driver.deploy(wanted, net.bridge) is Action.UPDATED

    servers = running_servers(driver, lb_id)
    assert set(servers) == {"member-1", "member-2"}
    assert (servers["member-1"].user_weight, servers["member-1"].maint) == (2, False)
    assert (servers["member-2"].user_weight, servers["member-2"].maint) == (1, False)
    assert set(bodies(net.client, 8)) == {WEB01, WEB02}
    assert processes(driver, lb_id) == before


def test_an_agent_restart_keeps_the_runtime_path(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    """A new agent (a new driver on the same state path) reads what haproxy runs: the next
    member change still needs no reload."""
    driver.deploy(make_tree(lb_id, [member(1)]), net.bridge)
    before = processes(driver, lb_id)
    restarted = HaproxyNamespaceDriver(driver_conf(driver.state_path))

    assert restarted.deploy(make_tree(lb_id, [member(1), member(2)]), net.bridge) \
        is Action.UPDATED

    assert set(bodies(net.client, 8)) == {WEB01, WEB02}
    assert processes(driver, lb_id) == before


def test_a_removed_member_drains_then_is_deleted(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    """A removed member gets no new connection at once; a connection it is serving goes on
    (haproxy will not delete a server with connections), and the server is deleted once it
    ends."""
    # member-3 is a second server on WEB01's address.
    members = [member(1), member(2), member(3, address=member(1).address)]
    tree = make_tree(lb_id, members, protocol="TCP")
    driver.deploy(tree, net.bridge)
    client = net.client.call(_connect, VIP)  # to whichever member round robin picks first
    try:
        busy = next(name for name, state in _sessions(driver, lb_id).items() if state)
        idle, kept = (node for node in members if node.id != busy)

        assert driver.deploy(make_tree(lb_id, [kept], protocol="TCP"), net.bridge) \
            is Action.UPDATED

        servers = running_servers(driver, lb_id)
        assert idle.id not in servers  # no connection: deleted at once
        assert servers[busy].maint  # in maintenance, its connection still open
        assert set(driver.drains.pending(lb_id)) == {(POOL_ID, busy)}
        assert driver.draining(lb_id)
        expected = WEB02 if kept.id == "member-2" else WEB01
        for _ in range(6):  # no new connection reaches it
            net.client.call(_connect, VIP).close()
        assert _sessions_total(driver, lb_id)[busy] == 1
        assert set(bodies(net.client, 6)) == {expected}
        driver.collect(tree)
        assert busy in running_servers(driver, lb_id)  # still serving: not deleted

        client.sendall(b"GET / HTTP/1.0\r\n\r\n")  # the member answers and closes
        assert client.recv(4096).startswith(b"HTTP/1.0 200")
    finally:
        client.close()
    assert wait_until(lambda: (driver.collect(tree), busy not in running_servers(driver,
                                                                                   lb_id))[1])
    assert driver.drains.pending(lb_id) == {}
    assert not driver.draining(lb_id)


def _connect(vip: str) -> socket.socket:
    """A TCP connection through the VIP, held open: haproxy connects it to a member at once."""
    return socket.create_connection((vip, 80), timeout=5)


def _sessions_total(driver: HaproxyNamespaceDriver, lb_id: str) -> dict[str, int]:
    snapshot = driver.process(lb_id).stats().show_stat()
    return {server.name: server.stot for server in snapshot.servers_of(POOL_ID)}


def _sessions(driver: HaproxyNamespaceDriver, lb_id: str) -> dict[str, int]:
    """Current sessions per member, waiting until one has the connection."""
    found: dict[str, int] = {}

    def one_busy() -> bool:
        found.update(_sessions_now(driver, lb_id))
        return any(found.values())

    assert wait_until(one_busy)
    return found


@pytest.mark.parametrize("change", ["remove", "weight 0"])
def test_a_drain_timeout_cuts_the_connections_left(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str, change: str
) -> None:
    """With the pool's lbaas:drain_timeout, a member removed or set to weight 0 keeps its
    connections only that long: the stats pass cuts them when it is due (a removed member is
    then deleted; a member at weight 0 stays)."""
    drain = {"drain_timeout": 1}
    members = [member(1), member(2)]
    tree = make_tree(lb_id, members, protocol="TCP", pool=drain)
    driver.deploy(tree, net.bridge)
    client = net.client.call(_connect, VIP)
    try:
        busy = next(name for name, state in _sessions(driver, lb_id).items() if state)
        other = next(node for node in members if node.id != busy)
        wanted = [other] if change == "remove" else [
            node.model_copy(update={"weight": 0}) if node.id == busy else node
            for node in members]
        assert driver.deploy(make_tree(lb_id, wanted, protocol="TCP", pool=drain),
                             net.bridge) is Action.UPDATED
        [(key, drained)] = driver.drains.pending(lb_id).items()
        assert key == (POOL_ID, busy) and drained.cut_at is not None
        assert drained.delete == (change == "remove")

        # Before the deadline, the stats pass leaves the connection alone.
        driver.collect(tree)
        assert _sessions_now(driver, lb_id).get(busy) == 1
        assert wait_until(lambda: (driver.collect(tree), not driver.drains.pending(lb_id))[1])
        client.settimeout(5)
        assert client.recv(100) == b""  # haproxy closed it
    finally:
        client.close()
    assert (busy in running_servers(driver, lb_id)) == (change == "weight 0")


def test_slow_start_ramps_a_new_member(
    driver: HaproxyNamespaceDriver, net: Net, lb_id: str
) -> None:
    """With the pool's lbaas:slow_start, a member added at runtime starts throttled: haproxy's
    ``show stat`` reports it below 100 % of its weight, and then at full weight."""
    ramp = {"slow_start": 3}
    driver.deploy(make_tree(lb_id, [member(1)], pool=ramp), net.bridge)
    assert driver.deploy(make_tree(lb_id, [member(1), member(2)], pool=ramp), net.bridge) \
        is Action.UPDATED
    throttle = _throttle(driver, lb_id, "member-2")
    assert throttle is not None and throttle < 100
    assert wait_until(lambda: _throttle(driver, lb_id, "member-2") is None)  # full weight
    assert set(bodies(net.client, 8)) == {WEB01, WEB02}


def _throttle(driver: HaproxyNamespaceDriver, lb_id: str, server: str) -> int | None:
    """``show stat``'s throttle of ``server`` (percent; None: not throttled)."""
    rows = csv.DictReader(driver.process(lb_id).stats().command("show stat")
                          .removeprefix("# ").splitlines())
    for row in rows:
        if row["pxname"] == POOL_ID and row["svname"] == server:
            return int(row["throttle"]) if row["throttle"] else None
    raise AssertionError(f"no server {server}")


def _sessions_now(driver: HaproxyNamespaceDriver, lb_id: str) -> dict[str, int]:
    snapshot = driver.process(lb_id).stats().show_stat()
    return {server.name: server.scur for server in snapshot.servers_of(POOL_ID)}
