"""ACTIVE_STANDBY: the ``peers`` section that replicates the stick tables of SOURCE_IP and
APP_COOKIE persistence between the two copies of a load balancer
(:mod:`lbaas.drivers.haproxy.view`).

Each copy is rendered from the same pair tree with ``copy`` naming itself: ``localpeer`` in
``global``, one ``peer`` line per copy at its vrrp_ip, ``peers lbaas_peers`` on every stick table.
Without ``copy`` the config is the SINGLE one, byte for byte. Hostile ids and addresses are
refused, and ``haproxy -c`` accepts what is rendered without a warning (a ``localpeer`` that
names no ``peer`` line makes haproxy drop the section with a warning).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lbaas.core.tree import AmphoraNode, LoadBalancerTree, SessionPersistenceNode
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.tls_files import plan_tls_files, write_tls_files
from lbaas.drivers.haproxy.view import (
    PEER_PORT,
    PEERS_SECTION,
    ConfigRuntimePaths,
    build_view,
    peer_name,
)
from tests.unit.haproxy_samples import (
    INJECTIONS,
    MINIMAL_HTTP_GOLDEN,
    PATHS,
    make_listener,
    make_pool,
    make_tree,
    needs_haproxy,
    render,
    section,
    section_headers,
    tls_plan,
)
from tests.unit.test_haproxy_render_check import haproxy_check, rich_tree

AMP_A = "3f0c6a0e-6d5b-4d8e-9a51-0c1d2e3f4a01"
AMP_B = "9b1e2d3c-4a5f-4e6d-8c7b-1a2b3c4d5e02"
V6_SUBNET = {"id": "subnet-6", "network_id": "network-1", "cidr": "fd00:10:20::/64"}


def make_copy(**overrides: Any) -> AmphoraNode:
    fields: dict[str, Any] = {
        "id": AMP_A,
        "position": 0,
        "host": "node-a",
        "vrrp_ip": "203.0.113.11",
        "vrrp_priority": 100,
        "status": "ALLOCATED",
    }
    return AmphoraNode(**(fields | overrides))


def pair(vrrp_a: str = "203.0.113.11", vrrp_b: str = "203.0.113.12") -> list[AmphoraNode]:
    return [
        make_copy(vrrp_ip=vrrp_a),
        make_copy(id=AMP_B, position=1, host="node-b", vrrp_ip=vrrp_b, vrrp_priority=90),
    ]


def pair_tree(
    persistence: SessionPersistenceNode | None = None,
    amphorae: list[AmphoraNode] | None = None,
    **overrides: Any,
) -> LoadBalancerTree:
    """The minimal HTTP load balancer, ACTIVE_STANDBY, its pool with ``persistence``."""
    fields: dict[str, Any] = {
        "topology": "ACTIVE_STANDBY",
        "amphorae": pair() if amphorae is None else amphorae,
        "pools": [make_pool(session_persistence=persistence)],
    }
    return make_tree(**(fields | overrides))


def render_copy(tree: LoadBalancerTree, copy_id: str = AMP_A) -> str:
    copy = next(amphora for amphora in tree.amphorae if amphora.id == copy_id)
    return render_haproxy_config(tree, PATHS, copy=copy, tls_files=tls_plan(tree))


SOURCE_IP = SessionPersistenceNode(type="SOURCE_IP", persistence_timeout=60)
APP_COOKIE = SessionPersistenceNode(type="APP_COOKIE", cookie_name="JSESSIONID")

PAIR_SOURCE_IP_GOLDEN_A = f"""\
# haproxy.cfg for load balancer lb-1, rendered by lbaas: do not edit.
# master-worker mode comes from the command line (-W -S).

global
    nbthread 1
    maxconn 8000
    hard-stop-after 2m
    stats socket '/var/lib/lbaas/lbaas/lb-1/haproxy.sock' mode 600 level admin expose-fd listeners
    server-state-file '/var/lib/lbaas/lbaas/lb-1/servers.state'
    localpeer {AMP_A}

defaults
    option redispatch
    retries 3
    load-server-state-from-file global
    timeout connect 5000ms
    timeout client 50000ms
    timeout server 50000ms
    timeout check 5000ms

peers lbaas_peers
    peer {AMP_A} 203.0.113.11:1025
    peer {AMP_B} 203.0.113.12:1025

frontend listener-1
    mode http
    bind 203.0.113.10:80
    maxconn 8000
    timeout client 50000ms
    option idle-close-on-response
    default_backend pool-1

backend pool-1
    mode http
    balance roundrobin
    timeout connect 5000ms
    timeout server 50000ms
    load-server-state-from-file none
    stick-table type ip size 10k expire 60s peers lbaas_peers
    stick on src
    server member-1 192.0.2.11:8080 weight 1
"""


# --- golden texts -----------------------------------------------------------------------------


def test_pair_with_source_ip_persistence_golden() -> None:
    assert render_copy(pair_tree(SOURCE_IP)) == PAIR_SOURCE_IP_GOLDEN_A


def test_the_two_copies_differ_only_in_their_local_peer() -> None:
    tree = pair_tree(SOURCE_IP)
    assert render_copy(tree, AMP_B) == PAIR_SOURCE_IP_GOLDEN_A.replace(
        f"localpeer {AMP_A}", f"localpeer {AMP_B}"
    )


def test_pair_with_app_cookie_persistence_shares_the_cookie_table() -> None:
    backend = section(render_copy(pair_tree(APP_COOKIE)), "backend pool-1")
    assert backend[4:] == [
        "stick-table type string len 64 size 10k expire 1800s peers lbaas_peers",
        "stick store-response res.cook('JSESSIONID')",
        "stick match req.cook('JSESSIONID')",
        "server member-1 192.0.2.11:8080 weight 1",
    ]


def test_every_stick_table_of_the_pair_names_the_peers_section() -> None:
    """rich_tree has a SOURCE_IP, an APP_COOKIE and an HTTP_COOKIE pool (no table: the cookie
    names the member) and pools without persistence."""
    tree = rich_tree().model_copy(update={"topology": "ACTIVE_STANDBY", "amphorae": pair()})
    config = render_copy(tree)
    tables = [line.strip() for line in config.splitlines() if "stick-table" in line]
    assert tables == [
        "stick-table type string len 64 size 10k expire 600s peers lbaas_peers",
        "stick-table type ip size 10k expire 1800s peers lbaas_peers",
    ]
    assert config.count(" peers lbaas_peers") == 2
    assert "cookie SRV insert indirect nocache" in section(config, "backend pool-rr")


def test_pair_without_persistence_still_has_its_peers_section() -> None:
    """Nothing to share yet; a pool may gain persistence by a reload, without a restart."""
    config = render_copy(pair_tree())
    assert section(config, f"peers {PEERS_SECTION}") == [
        f"peer {AMP_A} 203.0.113.11:{PEER_PORT}",
        f"peer {AMP_B} 203.0.113.12:{PEER_PORT}",
    ]
    assert "stick-table" not in config


def test_sections_in_order() -> None:
    assert section_headers(render_copy(pair_tree(SOURCE_IP))) == [
        "global",
        "defaults",
        "peers lbaas_peers",
        "frontend listener-1",
        "backend pool-1",
    ]


def test_peers_are_listed_by_position_whatever_the_order_of_the_tree() -> None:
    tree = pair_tree(SOURCE_IP, amphorae=list(reversed(pair())))
    assert render_copy(tree) == PAIR_SOURCE_IP_GOLDEN_A


def test_a_peer_without_host_yet_is_listed() -> None:
    """The other copy is not placed yet (no live agent): its vrrp_ip is already its own."""
    copies = pair()
    tree = pair_tree(SOURCE_IP, amphorae=[copies[0], copies[1].model_copy(update={
        "host": None, "status": "PENDING_CREATE"})])
    assert render_copy(tree) == PAIR_SOURCE_IP_GOLDEN_A


def test_disabled_load_balancer_keeps_its_peers() -> None:
    """No frontends, but the backends' tables (and their replication) stay."""
    config = render_copy(pair_tree(SOURCE_IP, admin_state_up=False))
    assert section_headers(config) == ["global", "defaults", "peers lbaas_peers", "backend pool-1"]
    assert f"localpeer {AMP_A}" in section(config, "global")


def test_peer_name_is_the_amphora_id() -> None:
    assert peer_name(make_copy()) == AMP_A
    view = build_view(pair_tree(), PATHS, copy=make_copy())
    assert view["peers"]["local"] == AMP_A
    assert view["global"]["local_peer"] == AMP_A


# --- IPv6 -------------------------------------------------------------------------------------


def v6_pair_tree(persistence: SessionPersistenceNode = SOURCE_IP) -> LoadBalancerTree:
    return pair_tree(
        persistence,
        amphorae=pair("fd00:10:20::11", "FD00:10:20:0:0:0:0:12"),
        vip_address="fd00:10:20::10",
        vip_subnet=V6_SUBNET,
    )


def test_ipv6_peers_are_bracketed_in_canonical_form() -> None:
    config = render_copy(v6_pair_tree(), AMP_B)
    assert section(config, "peers lbaas_peers") == [
        f"peer {AMP_A} [fd00:10:20::11]:1025",
        f"peer {AMP_B} [fd00:10:20::12]:1025",
    ]
    assert f"localpeer {AMP_B}" in section(config, "global")
    assert "stick-table type ipv6 size 10k expire 60s peers lbaas_peers" in section(
        config, "backend pool-1"
    )


# --- SINGLE: unchanged --------------------------------------------------------------------------


def test_single_is_byte_identical() -> None:
    assert render_haproxy_config(make_tree(), PATHS, copy=None) == MINIMAL_HTTP_GOLDEN
    single = make_tree(pools=[make_pool(session_persistence=SOURCE_IP)])
    assert "peers" not in render(single) and "localpeer" not in render(single)


def test_pair_rendered_without_copy_is_the_single_config() -> None:
    """Until the caller names its copy, a pair tree renders as it did before (no peers)."""
    for persistence in (SOURCE_IP, APP_COOKIE):
        single = make_tree(pools=[make_pool(session_persistence=persistence)])
        assert render(pair_tree(persistence)) == render(single)


# --- refusals -----------------------------------------------------------------------------------

NOT_ADDRESSES = [
    "203.0.113.300",
    "host.example.com",
    "",
    "203.0.113.11:1025",
    "203.0.113.11 backup",
    "[fd00::11]",
    "fd00::11%eth0",
    "fd00::1%x]:1 #",
    "203.0.113.11\npeer evil 192.0.2.66:1025",
]


@pytest.mark.parametrize("vrrp_ip", NOT_ADDRESSES)
@pytest.mark.parametrize("whose", ["own", "peer"])
def test_a_vrrp_ip_that_is_not_an_address_is_refused(vrrp_ip: str, whose: str) -> None:
    copies = pair(vrrp_a=vrrp_ip) if whose == "own" else pair(vrrp_b=vrrp_ip)
    with pytest.raises(UnsafeConfigValue, match="vrrp_ip"):
        render_copy(pair_tree(SOURCE_IP, amphorae=copies))


BAD_IDS = [
    *(f"{AMP_B}{injection}" for injection in INJECTIONS),
    "",
    "amp b",
    "amp#b",
    "-amp",
    "amp'b",
    "a" * 129,
]


@pytest.mark.parametrize("amphora_id", BAD_IDS)
@pytest.mark.parametrize("whose", ["own", "peer"])
def test_an_amphora_id_unsafe_as_a_peer_name_is_refused(amphora_id: str, whose: str) -> None:
    copies = pair()
    index = 0 if whose == "own" else 1
    copies[index] = copies[index].model_copy(update={"id": amphora_id})
    with pytest.raises(UnsafeConfigValue, match="amphora id"):
        render_haproxy_config(pair_tree(SOURCE_IP, amphorae=copies), PATHS, copy=copies[0])


def test_a_copy_of_another_load_balancer_is_refused() -> None:
    stranger = make_copy(id="7d6c5b4a-0000-4000-8000-000000000003", vrrp_ip="203.0.113.13")
    with pytest.raises(UnsafeConfigValue, match="not a copy of load balancer"):
        render_haproxy_config(pair_tree(SOURCE_IP), PATHS, copy=stranger)


def test_a_copy_of_a_single_load_balancer_is_refused() -> None:
    with pytest.raises(UnsafeConfigValue, match="not a copy of load balancer"):
        render_haproxy_config(make_tree(), PATHS, copy=make_copy())


def test_two_copies_with_one_id_are_refused() -> None:
    copies = pair()
    copies[1] = copies[1].model_copy(update={"id": AMP_A})
    with pytest.raises(UnsafeConfigValue, match="duplicate amphora id"):
        render_copy(pair_tree(SOURCE_IP, amphorae=copies))


@pytest.mark.parametrize(("vrrp_a", "vrrp_b"), [
    ("203.0.113.11", "203.0.113.11"),
    ("fd00:10:20::11", "FD00:10:20:0::11"),
])
def test_two_copies_at_one_address_are_refused(vrrp_a: str, vrrp_b: str) -> None:
    """The local peer would connect to itself: no table would ever leave this copy."""
    with pytest.raises(UnsafeConfigValue, match="duplicate amphora vrrp_ip"):
        render_copy(pair_tree(SOURCE_IP, amphorae=pair(vrrp_a, vrrp_b)))


# --- haproxy -c -------------------------------------------------------------------------------


def runtime_paths(tmp_path: Path) -> ConfigRuntimePaths:
    (tmp_path / "servers.state").write_text("1\n")  # an empty state file: version line only
    return ConfigRuntimePaths(str(tmp_path / "haproxy.sock"), str(tmp_path / "servers.state"))


def check_tree(tree: LoadBalancerTree, copy_id: str, tmp_path: Path) -> None:
    paths = runtime_paths(tmp_path)
    copy = next(amphora for amphora in tree.amphorae if amphora.id == copy_id)
    tls_files = plan_tls_files(tree, tmp_path / "certs")
    write_tls_files(tls_files)
    config = render_haproxy_config(tree, paths, copy=copy, tls_files=tls_files)
    assert "localpeer" in config
    result = haproxy_check(config, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[WARNING]" not in output and "[ALERT]" not in output, output


@needs_haproxy
@pytest.mark.parametrize("copy_id", [AMP_A, AMP_B])
@pytest.mark.parametrize("tree", [
    pytest.param(pair_tree(SOURCE_IP), id="source-ip"),
    pytest.param(pair_tree(APP_COOKIE), id="app-cookie"),
    pytest.param(pair_tree(), id="no-persistence"),
    pytest.param(v6_pair_tree(), id="ipv6-source-ip"),
    pytest.param(v6_pair_tree(APP_COOKIE), id="ipv6-app-cookie"),
    pytest.param(pair_tree(SOURCE_IP, admin_state_up=False), id="lb-disabled"),
    pytest.param(
        rich_tree().model_copy(update={"topology": "ACTIVE_STANDBY", "amphorae": pair()}),
        id="rich",
    ),
    pytest.param(
        pair_tree(SOURCE_IP, listeners=[make_listener(protocol_port=PEER_PORT)]),
        id="listener-on-the-peer-port",
    ),
])
def test_haproxy_check_accepts_each_copy(
    tree: LoadBalancerTree, copy_id: str, tmp_path: Path
) -> None:
    check_tree(tree, copy_id, tmp_path)


@needs_haproxy
def test_haproxy_warns_when_the_local_peer_is_not_listed(tmp_path: Path) -> None:
    """Why the check above can fail: a ``localpeer`` naming no ``peer`` line makes haproxy drop
    the section (the tables would silently stay local)."""
    config = render_haproxy_config(pair_tree(SOURCE_IP), runtime_paths(tmp_path), copy=make_copy())
    broken = config.replace(f"localpeer {AMP_A}", "localpeer someone-else")
    assert broken != config
    result = haproxy_check(broken, tmp_path)
    output = result.stdout + result.stderr
    assert "Removing incomplete section 'peers lbaas_peers'" in output, output
