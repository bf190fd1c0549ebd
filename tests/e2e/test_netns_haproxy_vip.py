"""End to end: the interface driver (lbaas.drivers.interface.vip_plug) on real namespaces.

Each test builds its own bridge, two backend hosts answering WEB01/WEB02 and a client host, and
plugs a VIP into a load balancer namespace ``qlbaas-<id>``: plugging is idempotent, repairs what
was broken by hand, refuses an unknown bridge, announces a new MAC with gratuitous ARP; and the
neighbour table limits are only ever raised. The fixtures (tests/e2e/netns_haproxy.py) tear down
what they built even when a test fails, and check that nothing is left.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable

import pytest

from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import (
    iproute,
    namespace_path,
    read_sysctl,
    write_sysctl,
)
from tests.e2e.netns_haproxy import SUBNET, VIP, Net, wait_until
from tests.netlab import http_get_here, skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip", "haproxy", "nsenter")]


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
