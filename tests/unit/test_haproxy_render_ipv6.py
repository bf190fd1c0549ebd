"""IPv6 in haproxy.cfg: ``bind`` and ``server`` addresses in brackets (HAProxy reads the last
colon of a bare ``fd00::1:80`` as the port separator, and refuses ``addr fd00::12`` as
``fd00:``), health-check ``addr`` overrides in brackets, IPv6 ``allowed_cidrs``, stick tables of
type ipv6, mixed families (IPv4 VIP with IPv6 members and the other way round), every config
checked by ``haproxy -c``; and addresses that Python's parser accepts but that would change a
line (IPv6 zone ids) refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbaas.core.tree import LoadBalancerTree, MemberNode, SessionPersistenceNode
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from tests.unit.haproxy_samples import (
    make_listener,
    make_member,
    make_monitor,
    make_pool,
    make_tree,
    needs_haproxy,
    render,
    section,
    server_lines,
)
from tests.unit.test_haproxy_render_check import haproxy_check, render_for_check

V6_SUBNET = {"id": "subnet-6", "network_id": "network-1", "cidr": "fd00:10:20::/64"}
V6_VIP = "fd00:10:20::10"


def v6_members() -> list[MemberNode]:
    return [
        make_member(id="m-1", address="fd00:10:20::21", protocol_port=80),
        make_member(id="m-2", address="fd00:10:20::22", protocol_port=8080,
                    monitor_address="fd00:10:20::99", monitor_port=9000),
        make_member(id="m-3", address="::ffff:192.0.2.7", protocol_port=80, backup=True),
    ]


def v6_tree(
    vip: str = V6_VIP, members: list[MemberNode] | None = None, **pool: object
) -> LoadBalancerTree:
    """An HTTP listener on ``vip`` with allowed_cidrs, a monitored pool of ``members``."""
    vip_subnet = V6_SUBNET if ":" in vip else {"id": "subnet-1", "network_id": "network-1",
                                               "cidr": "203.0.113.0/24"}
    cidrs = ["fd00:10::/32", "FD00:10:20::5/128"] if ":" in vip else ["198.51.100.0/24"]
    return make_tree(
        vip_address=vip,
        vip_subnet=vip_subnet,
        listeners=[make_listener(allowed_cidrs=cidrs)],
        pools=[make_pool(members=v6_members() if members is None else members,
                         healthmonitor=make_monitor(type="HTTP", url_path="/healthz"), **pool)],
    )


def test_ipv6_bind_is_bracketed() -> None:
    frontend = section(render(v6_tree()), "frontend listener-1")
    assert "bind [fd00:10:20::10]:80" in frontend


def test_ipv6_allowed_cidrs_are_normalised() -> None:
    frontend = section(render(v6_tree()), "frontend listener-1")
    assert "acl _allowed_cidrs src fd00:10::/32 fd00:10:20::5/128" in frontend
    assert "tcp-request connection reject if !_allowed_cidrs" in frontend


def test_ipv6_servers_and_check_overrides_are_bracketed() -> None:
    check = "check inter 5s fall 3 rise 2"
    assert server_lines(render(v6_tree())) == [
        f"server m-1 [fd00:10:20::21]:80 weight 1 {check}",
        f"server m-2 [fd00:10:20::22]:8080 weight 1 {check} addr [fd00:10:20::99] port 9000",
        f"server m-3 [::ffff:c000:207]:80 weight 1 backup {check}",
    ]


def test_ipv6_vip_source_ip_persistence_uses_an_ipv6_table() -> None:
    tree = v6_tree(session_persistence=SessionPersistenceNode(type="SOURCE_IP"))
    assert "stick-table type ipv6 size 10k expire 1800s" in section(render(tree), "backend pool-1")


def test_ipv4_vip_with_ipv6_members() -> None:
    config = render(v6_tree(vip="203.0.113.10"))
    assert "bind 203.0.113.10:80" in section(config, "frontend listener-1")
    assert server_lines(config)[0].startswith("server m-1 [fd00:10:20::21]:80 ")


def test_ipv6_vip_with_ipv4_members() -> None:
    members = [make_member(id="m-4", address="192.0.2.4", monitor_address="192.0.2.5")]
    config = render(v6_tree(members=members))
    assert "bind [fd00:10:20::10]:80" in section(config, "frontend listener-1")
    assert server_lines(config) == [
        "server m-4 192.0.2.4:8080 weight 1 check inter 5s fall 3 rise 2 addr 192.0.2.5"]


@needs_haproxy
@pytest.mark.parametrize("tree", [
    pytest.param(v6_tree(), id="ipv6"),
    pytest.param(v6_tree(session_persistence=SessionPersistenceNode(type="SOURCE_IP")),
                 id="ipv6-source-ip"),
    pytest.param(v6_tree(vip="203.0.113.10"), id="ipv4-vip-ipv6-members"),
    pytest.param(v6_tree(members=[make_member(address="192.0.2.4", monitor_address="192.0.2.5")]),
                 id="ipv6-vip-ipv4-members"),
    pytest.param(v6_tree(vip="::ffff:203.0.113.10"), id="ipv4-mapped-vip"),
])
def test_haproxy_check_accepts_ipv6_configs(tree: LoadBalancerTree, tmp_path: Path) -> None:
    result = haproxy_check(render_for_check(tree, tmp_path), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[WARNING]" not in output and "[ALERT]" not in output, output


@needs_haproxy
def test_haproxy_refuses_an_unbracketed_ipv6_check_address(tmp_path: Path) -> None:
    """Why the brackets: the same config with a bare ``addr`` is refused by ``haproxy -c``
    (so the check above can fail)."""
    config = render_for_check(v6_tree(), tmp_path)
    broken = config.replace("addr [fd00:10:20::99]", "addr fd00:10:20::99")
    assert broken != config
    result = haproxy_check(broken, tmp_path)
    assert result.returncode != 0
    assert "invalid address" in result.stdout + result.stderr


ZONE_IDS = [
    "fe80::1%eth0",
    "fd00::1%x]:1 backup #",
    "fd00::1%x check addr 10.0.0.1",
    "fd00::1%x\nbackend evil",
]


@pytest.mark.parametrize("address", ZONE_IDS)
def test_member_address_with_zone_id_is_refused(address: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(v6_tree(members=[make_member(address=address)]))


@pytest.mark.parametrize("address", ZONE_IDS)
def test_monitor_address_with_zone_id_is_refused(address: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(v6_tree(members=[make_member(monitor_address=address)]))


@pytest.mark.parametrize("address", ZONE_IDS)
def test_vip_with_zone_id_is_refused(address: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(v6_tree(vip=address))


@pytest.mark.parametrize("cidr", ["fd00::%x or ::/64", "fd00::%eth0/64", "fd00::/129",
                                  "[fd00::]/64", "fd00::/64 0.0.0.0/0"])
def test_hostile_ipv6_allowed_cidr_is_refused(cidr: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(make_tree(listeners=[make_listener(allowed_cidrs=[cidr])]))


@pytest.mark.parametrize("value,expected", [
    ("FD00:0:0::0A", "[fd00::a]:80"),
    ("fd00:10:20:0:0:0:0:21", "[fd00:10:20::21]:80"),
    ("10.0.0.1", "10.0.0.1:80"),
])
def test_addresses_are_written_in_canonical_form(value: str, expected: str) -> None:
    assert esc.format_host_port(esc.ip_address(value, "address"), 80) == expected
