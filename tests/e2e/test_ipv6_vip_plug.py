"""End to end, IPv6: the interface driver (lbaas.drivers.interface.vip_plug) and the haproxy
namespace driver with an IPv6 VIP and IPv6 backends on real namespaces, no API server.

Each test builds its own lab (tests/netlab.py) on a bridge of its own: two backends answering
WEB01/WEB02 and a client, all with ULA addresses (``fd00:231::/64``) inside namespaces created
here. The VIP is usable as soon as it is plugged (no duplicate address detection), the default
route goes via the subnet's IPv6 gateway, router advertisements are ignored, a new MAC is
announced by an unsolicited neighbour advertisement, haproxy binds ``[vip]:80`` and balances
both backends, and the stats socket reports IPv6 members' health. Fixtures remove everything,
also when a test fails.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from lbaas.core.tree import (
    HealthMonitorNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
    SubnetNode,
)
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import iproute, read_sysctl
from tests.e2e.driver.lab import driver_for
from tests.e2e.netns_haproxy import Net, wait_until, web_lab
from tests.netlab import Host, Lab, http_get_here, link_names, skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip", "haproxy", "nsenter")]

PREFIX = "fd00:231::"
VIP, GATEWAY = f"{PREFIX}100", f"{PREFIX}1"
WEB01, WEB02 = "You've reached WEB01 over IPv6", "You've reached WEB02 over IPv6"
IFA_F_TENTATIVE, IFA_F_DADFAILED = 0x40, 0x08


@pytest.fixture
def net6() -> Iterator[Net]:
    with web_lab(lambda host: f"{PREFIX}{host}/64", WEB01, WEB02) as lab:
        yield lab


@pytest.fixture
def driver(lb_id: str) -> Iterator[HaproxyNamespaceDriver]:
    with driver_for(lb_id) as built:
        yield built


def vip_state(lb_id: str) -> tuple[dict[str, int], list[tuple[int, str | None]]]:
    """(global addresses of eth0 -> IFA flags, default routes as (family, gateway))."""
    with iproute(vip_plug.namespace_name(lb_id)) as ipr:
        eth0 = ipr.link_lookup(ifname=vip_plug.VIP_IFNAME)[0]
        addresses = {
            str(msg.get_attr("IFA_ADDRESS")): int(msg.get_attr("IFA_FLAGS") or msg["flags"])
            for msg in ipr.addr("dump", index=eth0)
            if not str(msg.get_attr("IFA_ADDRESS")).startswith("fe80:")
        }
        routes = [(int(r["family"]), r.get_attr("RTA_GATEWAY"))
                  for family in (socket.AF_INET, socket.AF_INET6)
                  for r in ipr.route("dump", family=family)
                  if r["dst_len"] == 0 and r.get_attr("RTA_TABLE") == 254 and r["type"] == 1]
    return addresses, routes


def test_ipv6_vip_is_usable_at_once_with_its_gateway(net6: Net, lb_id: str) -> None:
    name = vip_plug.namespace_name(lb_id)
    assert vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, gateway=GATEWAY) is True
    addresses, routes = vip_state(lb_id)
    assert set(addresses) == {VIP}
    assert not addresses[VIP] & (IFA_F_TENTATIVE | IFA_F_DADFAILED)
    assert routes == [(socket.AF_INET6, GATEWAY)]  # and no IPv4 default route
    for key in ("disable_ipv6", "accept_dad", "accept_ra", "autoconf"):
        assert read_sysctl(f"net.ipv6.conf.{vip_plug.VIP_IFNAME}.{key}", name) == "0", key
    assert read_sysctl("net.ipv6.ip_nonlocal_bind", name) == "1"
    # The VIP answers right away (nothing listens: refused, not unreachable or timed out).
    with pytest.raises(ConnectionRefusedError):
        net6.client.call(http_get_here, VIP, 80, "/", 2.0)
    assert vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, gateway=GATEWAY) is False


@pytest.mark.parametrize("breakage", [
    pytest.param(["sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=1"], id="accept-ra"),
    pytest.param(["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1"], id="ipv6-disabled"),
    pytest.param(["ip", "-6", "route", "del", "default"], id="default-route-removed"),
    pytest.param(["ip", "-4", "route", "add", "default", "dev", "eth0"], id="ipv4-default-added"),
    pytest.param(["ip", "addr", "add", f"{PREFIX}222/64", "dev", "eth0", "nodad"],
                 id="stale-address"),
])
def test_broken_ipv6_vip_is_repaired(net6: Net, lb_id: str, breakage: list[str]) -> None:
    name = vip_plug.namespace_name(lb_id)
    assert vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, gateway=GATEWAY) is True
    subprocess.run(["ip", "netns", "exec", name, *breakage], check=True, capture_output=True)
    assert vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, gateway=GATEWAY) is True
    assert vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, gateway=GATEWAY) is False
    addresses, routes = vip_state(lb_id)
    assert set(addresses) == {VIP} and routes == [(socket.AF_INET6, GATEWAY)]
    with pytest.raises(ConnectionRefusedError):
        net6.client.call(http_get_here, VIP, 80, "/", 2.0)


def test_source_address_of_the_other_family(net6: Net, lb_id: str) -> None:
    """An IPv4 VIP with an IPv6 source address: both on eth0, a default route of each family,
    IPv6 backends reachable from the namespace; a removed source address is put back."""
    name = vip_plug.namespace_name(lb_id)
    source = (f"{PREFIX}20", 64, GATEWAY)
    plug = (lb_id, net6.bridge, "10.231.7.100", 24, "10.231.7.1")
    assert vip_plug.plug_vip(*plug, sources=[source]) is True
    assert vip_plug.plug_vip(*plug, sources=[source]) is False
    addresses, routes = vip_state(lb_id)
    assert set(addresses) == {"10.231.7.100", f"{PREFIX}20"}
    assert sorted(routes) == [(socket.AF_INET, "10.231.7.1"), (socket.AF_INET6, GATEWAY)]
    assert subprocess.run(  # the namespace reaches an IPv6 backend, from the source address
        ["ip", "netns", "exec", name, "python3", "-c",
         f"import socket; s = socket.create_connection(('{PREFIX}11', 80), timeout=5);"
         " print(s.getsockname()[0])"], check=True, capture_output=True, text=True,
    ).stdout.strip() == f"{PREFIX}20"

    subprocess.run(["ip", "-n", name, "addr", "del", f"{PREFIX}20/64", "dev", "eth0"], check=True)
    assert vip_plug.plug_vip(*plug, sources=[source]) is True
    assert vip_plug.plug_vip(*plug) is True  # no longer wanted: removed with its route
    addresses, routes = vip_state(lb_id)
    assert set(addresses) == {"10.231.7.100"} and routes == [(socket.AF_INET, "10.231.7.1")]


def test_source_address_of_the_vip_family_is_refused(net6: Net, lb_id: str) -> None:
    with pytest.raises(ValueError):
        vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, GATEWAY, sources=[(f"{PREFIX}20", 64, None)])
    assert lb_id not in vip_plug.list_lb_namespaces()


def neighbour_mac(host: Host, address: str) -> str | None:
    with iproute(host.namespace) as ipr:
        for entry in ipr.neigh("dump", family=socket.AF_INET6):
            if entry.get_attr("NDA_DST") == address:
                return str(entry.get_attr("NDA_LLADDR"))
    return None


def test_unsolicited_neighbour_advertisement_updates_neighbours_after_mac_change(
    net6: Net, lb_id: str
) -> None:
    vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, gateway=None, mac="02:00:fd:00:01:01")
    with pytest.raises(OSError):  # the client resolves the VIP's MAC (refused: nothing listens)
        net6.client.call(http_get_here, VIP, 80, "/", 2.0)
    assert neighbour_mac(net6.client, VIP) == "02:00:fd:00:01:01"

    vip_plug.plug_vip(lb_id, net6.bridge, VIP, 64, gateway=None, mac="02:00:fd:00:01:02")
    # No traffic from the client in between: only the advertisement can have told it.
    assert wait_until(lambda: neighbour_mac(net6.client, VIP) == "02:00:fd:00:01:02", 2.0)


# --- the haproxy namespace driver -------------------------------------------------------------


def v6_tree(lb_id: str, **overrides: Any) -> LoadBalancerTree:
    """One HTTP listener on the IPv6 VIP, round robin over both backends with fast HTTP
    checks; ``allowed_cidrs`` let the client's /120 in."""
    monitor = HealthMonitorNode(id="hm-1", type="HTTP", delay=1, timeout=1, max_retries=1,
                                max_retries_down=1)
    members = [MemberNode(id=f"member-{i}", address=f"{PREFIX}{10 + i}", protocol_port=80)
               for i in (1, 2)]
    pool = PoolNode(id="pool-1", protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                    healthmonitor=monitor, members=members)
    listener = ListenerNode(id="listener-1", protocol="HTTP", protocol_port=80,
                            default_pool_id="pool-1", allowed_cidrs=[f"{PREFIX}0/120"])
    fields: dict[str, Any] = {
        "id": lb_id, "project_id": "project-1", "vip_address": VIP,
        "vip_network_id": "network-1",
        "vip_subnet": SubnetNode(id="subnet-6", network_id="network-1", cidr=f"{PREFIX}/64",
                                 gateway_ip=GATEWAY),
        "provisioning_status": "PENDING_CREATE", "listeners": [listener], "pools": [pool],
    }
    return LoadBalancerTree(**(fields | overrides))


def bodies(client: Host, count: int) -> list[str]:
    return [client.http_get(VIP, timeout=5.0) for _ in range(count)]


def test_driver_serves_an_ipv6_vip_and_reports_ipv6_members(
    driver: HaproxyNamespaceDriver, net6: Net, lb_id: str
) -> None:
    tree = v6_tree(lb_id)
    driver.deploy(tree, net6.bridge)
    config = (driver.process(lb_id).paths.directory / "haproxy.cfg").read_text()
    assert f"bind [{VIP}]:80" in config and f"server member-1 [{PREFIX}11]:80" in config
    assert sorted(bodies(net6.client, 4)) == [WEB01, WEB01, WEB02, WEB02]

    def health() -> dict[str, str]:
        return dict(driver.collect(tree)["members"])

    assert wait_until(lambda: health() == {"member-1": "ONLINE", "member-2": "ONLINE"}, 10)
    stats = driver.process(lb_id).stats()
    states = {s.name: (s.addr, s.port) for s in stats.show_servers_state()}
    assert states == {"member-1": (f"{PREFIX}11", 80), "member-2": (f"{PREFIX}12", 80)}
    servers = stats.show_stat().servers
    assert {key[1]: s.addr for key, s in servers.items()} == {
        "member-1": f"[{PREFIX}11]:80", "member-2": f"[{PREFIX}12]:80"}
    subprocess.run(["kill", str(net6.web02_server.pid)], check=True)
    assert wait_until(lambda: health().get("member-2") == "ERROR", 10)
    assert set(bodies(net6.client, 4)) == {WEB01}


def test_allowed_cidrs_refuse_an_ipv6_client_outside(
    driver: HaproxyNamespaceDriver, net6: Net, lb_id: str
) -> None:
    outsider = net6.lab.host("o6", net6.bridge, f"{PREFIX}1:50/64")  # outside ::/120
    driver.deploy(v6_tree(lb_id), net6.bridge)
    assert net6.client.http_get(VIP, timeout=5.0) in (WEB01, WEB02)
    with pytest.raises(OSError):  # haproxy closes the connection before any answer
        outsider.http_get(VIP, timeout=5.0)


@pytest.fixture
def lb_id() -> Iterator[str]:
    """A fresh load balancer id; its namespace and veth are removed at teardown."""
    lb_id = f"{Lab().prefix}{secrets.token_hex(3)}-v6"
    try:
        yield lb_id
    finally:
        vip_plug.unplug_vip(lb_id)
        assert lb_id not in vip_plug.list_lb_namespaces()
        assert vip_plug.outer_ifname(lb_id) not in link_names()
