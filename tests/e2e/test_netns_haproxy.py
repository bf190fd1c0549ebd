"""End to end: the interface driver and the haproxy process manager on real namespaces.

Each test builds its own bridge, two backend hosts answering WEB01/WEB02, a client host, and a
load balancer namespace ``qlbaas-<id>`` holding the VIP, with haproxy running inside it. Every
fixture tears down what it built (processes, namespaces, veths, bridge) even when a test fails,
and checks that nothing is left.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from lbaas.drivers.haproxy.process import Action, ConfigRejected, HaproxyError, HaproxyProcess
from lbaas.drivers.haproxy.stats import ServerStatus
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import (
    iproute,
    list_namespaces,
    namespace_path,
    read_sysctl,
    write_sysctl,
)
from tests.netlab import (
    Host,
    Lab,
    http_get_here,
    link_names,
    skip_unless_root_and_tools,
    stop_process,
)

pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip", "haproxy", "nsenter")]

SUBNET = "10.231.0"
VIP = f"{SUBNET}.100"
WEB01, WEB02 = "You've reached WEB01", "You've reached WEB02"
SQUAT = (
    "import socket, time\n"
    "s = socket.socket()\n"
    "s.bind(('{vip}', {port}))\n"
    "s.listen()\n"
    "print('READY', flush=True)\n"
    "time.sleep(600)\n"
)


def haproxy_config(proc: HaproxyProcess, generation: int = 0) -> str:
    """A small config: one listener on the VIP, roundrobin over both backends with checks."""
    return f"""\
# generation {generation}
global
    maxconn 1000
    stats socket {proc.paths.stats_socket} mode 600 level admin expose-fd listeners
    server-state-file {proc.paths.servers_state}

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
    retries 3
    option redispatch
    load-server-state-from-file global

frontend listener1
    bind {VIP}:80
    default_backend pool1

backend pool1
    balance roundrobin
    server web01 {SUBNET}.11:80 check inter 300ms fall 2 rise 1
    server web02 {SUBNET}.12:80 check inter 300ms fall 2 rise 1
"""


@dataclass
class Net:
    lab: Lab
    bridge: str
    web01: Host
    web02: Host
    client: Host
    web02_server: subprocess.Popen[str]


@dataclass
class LoadBalancer:
    lb_id: str
    proc: HaproxyProcess


@pytest.fixture
def net() -> Iterator[Net]:
    with Lab() as lab:
        bridge = lab.bridge("br")
        web01 = lab.host("w1", bridge, f"{SUBNET}.11/24")
        web02 = lab.host("w2", bridge, f"{SUBNET}.12/24")
        client = lab.host("cl", bridge, f"{SUBNET}.50/24")
        web01.http_server(WEB01)
        web02_server = web02.http_server(WEB02)
        yield Net(lab, bridge, web01, web02, client, web02_server)


@pytest.fixture
def lb_id() -> Iterator[str]:
    """A fresh load balancer id; its namespace and veth are removed at teardown."""
    lb_id = f"{Lab().prefix}{secrets.token_hex(3)}-e2e"
    try:
        yield lb_id
    finally:
        vip_plug.unplug_vip(lb_id)
        assert lb_id not in vip_plug.list_lb_namespaces()
        assert vip_plug.outer_ifname(lb_id) not in link_names()


@pytest.fixture
def state_path() -> Iterator[Path]:
    # Short on purpose: AF_UNIX socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="lbt"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def lb(net: Net, lb_id: str, state_path: Path) -> Iterator[LoadBalancer]:
    """The VIP plugged into the lab bridge and haproxy started in the namespace."""
    proc = HaproxyProcess(lb_id, state_path, exec_prefix=vip_plug.netns_exec_argv(lb_id))
    try:
        vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=None)
        assert proc.apply(haproxy_config(proc)) is Action.STARTED
        yield LoadBalancer(lb_id, proc)
    finally:
        proc.stop(graceful=False)
        assert not proc.is_running()


def get_vip(client: Host) -> str:
    return client.http_get(VIP, timeout=5.0)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_plug_vip_is_idempotent_and_removes_stale_state(net: Net, lb_id: str) -> None:
    name = vip_plug.namespace_name(lb_id)
    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=f"{SUBNET}.1") is True
    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=f"{SUBNET}.1") is False
    assert lb_id in vip_plug.list_lb_namespaces()
    assert read_sysctl("net.ipv4.ip_nonlocal_bind", name) == "1"
    with iproute(name) as ipr:
        eth0 = ipr.link_lookup(ifname=vip_plug.VIP_IFNAME)[0]
        ipr.addr("add", index=eth0, address=f"{SUBNET}.222", prefixlen=24)  # stale
    with iproute() as root:
        outer = root.link("get", ifname=vip_plug.outer_ifname(lb_id))[0]
        bridge_index = root.link_lookup(ifname=net.bridge)[0]
        assert outer.get_attr("IFLA_MASTER") == bridge_index

    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=None) is True

    with iproute(name) as ipr:
        addrs = {a.get_attr("IFA_ADDRESS") for a in ipr.addr("dump", family=2, index=eth0)}
        defaults = [r for r in ipr.route("dump", family=2) if r["dst_len"] == 0]
    assert addrs == {VIP}
    assert defaults == []
    vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=f"{SUBNET}.1")
    with iproute(name) as ipr:
        gateways = [
            r.get_attr("RTA_GATEWAY") for r in ipr.route("dump", family=2) if r["dst_len"] == 0
        ]
    assert gateways == [f"{SUBNET}.1"]


def ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda ns, outer: ip("-n", ns, "addr", "flush", "dev", "eth0"),
                     id="vip-address-removed"),
        pytest.param(lambda ns, outer: ip("-n", ns, "route", "del", "default"),
                     id="default-route-removed"),
        pytest.param(lambda ns, outer: ip("link", "set", outer, "nomaster"),
                     id="veth-out-of-the-bridge"),
        pytest.param(lambda ns, outer: ip("link", "set", outer, "down"), id="veth-down"),
        pytest.param(lambda ns, outer: ip("link", "del", outer), id="veth-deleted"),
        pytest.param(lambda ns, outer: ip("netns", "exec", ns, "sysctl", "-qw",
                                          "net.ipv4.ip_nonlocal_bind=0"), id="sysctl-reset"),
        pytest.param(lambda ns, outer: ip("netns", "del", ns), id="namespace-deleted"),
    ],
)
def test_plug_vip_leaves_a_plugged_vip_alone_and_repairs_a_broken_one(
    net: Net, lb_id: str, breakage: Callable[[str, str], None]
) -> None:
    name, outer = vip_plug.namespace_name(lb_id), vip_plug.outer_ifname(lb_id)
    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=f"{SUBNET}.1") is True
    before = (os.stat(namespace_path(name)).st_ino, socket.if_nametoindex(outer))
    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=f"{SUBNET}.1") is False
    assert (os.stat(namespace_path(name)).st_ino, socket.if_nametoindex(outer)) == before

    breakage(name, outer)

    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=f"{SUBNET}.1") is True
    assert vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=f"{SUBNET}.1") is False
    assert read_sysctl("net.ipv4.ip_nonlocal_bind", name) == "1"
    with pytest.raises(ConnectionRefusedError):  # the VIP answers again (nothing listens)
        net.client.call(http_get_here, VIP, 80, "/", 2.0)


def test_plug_vip_unknown_bridge_is_refused(lb_id: str) -> None:
    with pytest.raises(vip_plug.BridgeNotFound):
        vip_plug.plug_vip(lb_id, "lbtnosuchbr", VIP, 24, gateway=None)
    assert lb_id not in vip_plug.list_lb_namespaces()


def test_gratuitous_arp_updates_neighbours_after_mac_change(net: Net, lb_id: str) -> None:
    vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=None, mac="02:00:0a:e7:00:01")
    # The client learns the VIP's MAC (nothing listens: a refused connection is enough).
    with pytest.raises(OSError):
        net.client.call(http_get_here, VIP, 80, "/", 2.0)

    def vip_mac() -> str | None:
        with iproute(net.client.namespace) as ipr:
            for entry in ipr.neigh("dump", family=2):
                if entry.get_attr("NDA_DST") == VIP:
                    return str(entry.get_attr("NDA_LLADDR"))
        return None

    assert vip_mac() == "02:00:0a:e7:00:01"
    vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=None, mac="02:00:0a:e7:00:02")
    assert wait_until(lambda: vip_mac() == "02:00:0a:e7:00:02", timeout=2.0)


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


def test_raise_neighbour_table_limits_only_raises() -> None:
    keys = [f"net.{fam}.neigh.default.gc_thresh{i}" for fam in ("ipv4", "ipv6") for i in (1, 2, 3)]
    original = {key: read_sysctl(key) for key in keys}
    try:
        vip_plug.raise_neighbour_table_limits()
        for key in keys:
            wanted = vip_plug.NEIGH_GC_THRESH[key.rsplit(".", 1)[1]]
            assert int(read_sysctl(key)) == max(wanted, int(original[key]))
        vip_plug.raise_neighbour_table_limits({"gc_thresh1": 1})  # never lowers
        assert int(read_sysctl("net.ipv4.neigh.default.gc_thresh1")) >= 1024
    finally:
        for key, value in original.items():
            write_sysctl(key, value)


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
