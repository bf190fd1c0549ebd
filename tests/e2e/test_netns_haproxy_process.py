"""End to end: the haproxy process manager (lbaas.drivers.haproxy.process) on real namespaces.

Each test builds its own bridge, two backend hosts answering WEB01/WEB02, a client host, and a
load balancer namespace ``qlbaas-<id>`` holding the VIP, with haproxy running inside it: traffic,
rejected configs, reloads under load and failed reloads, runtime stats and state, a stopped
backend, a killed haproxy, and stopping and unplugging. The fixtures
(tests/e2e/netns_haproxy.py) tear down what they built (processes, namespaces, veths, bridge)
even when a test fails, and check that nothing is left.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lbaas.drivers.haproxy.process import Action, ConfigRejected, HaproxyError
from lbaas.drivers.haproxy.stats import ServerStatus
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import list_namespaces
from tests.e2e.netns_haproxy import (
    SUBNET,
    VIP,
    WEB01,
    WEB02,
    LoadBalancer,
    Net,
    get_vip,
    haproxy_config,
    wait_until,
)
from tests.netlab import Host, http_get_here, link_names, skip_unless_root_and_tools, stop_process

pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip", "haproxy", "nsenter")]

SQUAT = (
    "import socket, time\n"
    "s = socket.socket()\n"
    "s.bind(('{vip}', {port}))\n"
    "s.listen()\n"
    "print('READY', flush=True)\n"
    "time.sleep(600)\n"
)


def test_traffic_alternates_between_backends(lb: LoadBalancer, net: Net) -> None:
    bodies = [get_vip(net.client) for _ in range(6)]
    assert set(bodies) == {WEB01, WEB02}
    assert all(a != b for a, b in itertools.pairwise(bodies))
    paths = lb.proc.paths
    assert paths.directory.stat().st_mode & 0o777 == 0o700
    assert paths.config.stat().st_mode & 0o777 == 0o600
    assert lb.proc.apply(haproxy_config(lb.proc)) is Action.UNCHANGED


def test_broken_config_is_rejected_and_traffic_still_flows(lb: LoadBalancer, net: Net) -> None:
    before = lb.proc.proc_info()
    good = lb.proc.paths.config.read_text()
    with pytest.raises(ConfigRejected) as rejected:
        lb.proc.apply(good.replace("balance roundrobin", "balance roundrobin\n    bogus-kw 1"))
    assert "bogus-kw" in rejected.value.output
    assert lb.proc.paths.config.read_text() == good
    assert "bogus-kw" in lb.proc.paths.failed_config.read_text()
    assert not lb.proc.paths.new_config.exists()
    assert lb.proc.proc_info() == before
    assert {get_vip(net.client) for _ in range(4)} == {WEB01, WEB02}


def test_reload_under_paced_load_fails_no_request(lb: LoadBalancer, net: Net) -> None:
    def paced_requests(count: int, pause: float) -> list[str]:
        errors = []
        for _ in range(count):
            try:
                http_get_here(VIP, 80, "/", 5.0)
            except Exception as exc:
                errors.append(repr(exc))
            time.sleep(pause)
        return errors

    with ThreadPoolExecutor(max_workers=1) as pool:
        load = pool.submit(net.client.call, paced_requests, 300, 0.01)
        time.sleep(0.2)
        for generation in range(1, 11):
            assert lb.proc.apply(haproxy_config(lb.proc, generation)) is Action.RELOADED
            time.sleep(0.15)
        errors = load.result(timeout=120)
    assert errors == []
    info = lb.proc.proc_info()
    assert info is not None and info.reloads == 10 and info.failed_reloads == 0


def test_stats_show_servers_up_and_counting(lb: LoadBalancer, net: Net) -> None:
    stats = lb.proc.stats()
    # "UP 1/2" until the first check passes, then "UP" (with check_status L4OK).
    assert wait_until(
        lambda: all(s.status_text == "UP" for s in stats.show_stat().servers_of("pool1")),
        timeout=5.0,
    )
    before = stats.show_stat()
    for _ in range(4):
        get_vip(net.client)
    after = stats.show_stat()
    assert set(after.servers) == {("pool1", "web01"), ("pool1", "web02")}
    assert after.frontends["listener1"].stot >= before.frontends["listener1"].stot + 4
    for key in after.servers:
        assert after.servers[key].stot >= before.servers[key].stot + 2
        assert after.servers[key].check_status.startswith("L4OK")
    assert after.servers[("pool1", "web01")].addr == f"{SUBNET}.11:80"


def test_runtime_state_survives_reload(lb: LoadBalancer, net: Net) -> None:
    stats = lb.proc.stats()
    stats.set_server_state("pool1", "web02", "maint")
    assert stats.show_stat().servers[("pool1", "web02")].status is ServerStatus.MAINT
    lb.proc.apply(haproxy_config(lb.proc, 1))
    assert lb.proc.stats().show_stat().servers[("pool1", "web02")].status is ServerStatus.MAINT
    assert {get_vip(net.client) for _ in range(4)} == {WEB01}


def test_stopped_backend_goes_down(lb: LoadBalancer, net: Net) -> None:
    stats = lb.proc.stats()
    assert wait_until(
        lambda: stats.show_stat().servers[("pool1", "web02")].status is ServerStatus.UP, 5.0
    )
    stop_process(net.web02_server)

    def web02_down() -> bool:
        return stats.show_stat().servers[("pool1", "web02")].status is ServerStatus.DOWN

    assert wait_until(web02_down, timeout=5.0)
    assert {get_vip(net.client) for _ in range(4)} == {WEB01}


def test_stop_and_unplug_remove_everything(lb: LoadBalancer, net: Net) -> None:
    name = vip_plug.namespace_name(lb.lb_id)
    assert lb.lb_id in vip_plug.list_lb_namespaces()
    assert lb.proc.is_running()
    lb.proc.stop()
    lb.proc.stop()
    assert not lb.proc.is_running()
    assert not lb.proc.paths.master_socket.exists()
    vip_plug.unplug_vip(lb.lb_id)
    vip_plug.unplug_vip(lb.lb_id)
    assert lb.lb_id not in vip_plug.list_lb_namespaces()
    assert name not in list_namespaces()
    assert vip_plug.outer_ifname(lb.lb_id) not in link_names()
    lb.proc.remove_state()
    assert not lb.proc.paths.directory.exists()


def test_failed_reload_keeps_old_workers_and_config(lb: LoadBalancer, net: Net) -> None:
    # A listener inside the LB namespace takes port 81: `haproxy -c` accepts a bind on it, the
    # reload cannot bind it.
    squatter = Host(net.lab, vip_plug.namespace_name(lb.lb_id), VIP, outer="")
    blocker = squatter.spawn(["python3", "-c", SQUAT.format(vip=VIP, port=81)], ready_line="READY")
    try:
        good = lb.proc.paths.config.read_text()
        bad = good.replace(f"bind {VIP}:80", f"bind {VIP}:80\n    bind {VIP}:81")
        with pytest.raises(HaproxyError, match="failed to reload"):
            lb.proc.apply(bad)
        assert lb.proc.paths.config.read_text() == good
        assert lb.proc.paths.failed_config.read_text() == bad
        assert {get_vip(net.client) for _ in range(4)} == {WEB01, WEB02}
        with pytest.raises(HaproxyError):
            lb.proc.apply(bad)  # not "unchanged": the running config is still the old one
    finally:
        stop_process(blocker)
    assert lb.proc.apply(bad) is Action.RELOADED
    assert net.client.http_get(VIP, 81) in (WEB01, WEB02)


def test_dead_haproxy_is_restarted_by_apply(lb: LoadBalancer, net: Net) -> None:
    info = lb.proc.proc_info()
    assert info is not None
    for pid in (info.master_pid, *(pid for pid, _ in info.workers)):
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not lb.proc.is_running(), timeout=5.0)
    assert lb.proc.apply(lb.proc.paths.config.read_text()) is Action.STARTED
    assert {get_vip(net.client) for _ in range(4)} == {WEB01, WEB02}
