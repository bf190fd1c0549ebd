"""Backend sections: pools, members, health monitors and session persistence
(:mod:`lbaas.drivers.haproxy.view_backends`).
"""

from __future__ import annotations

import pytest

from lbaas.core.tree import (
    HealthMonitorNode,
    PoolNode,
    SessionPersistenceNode,
)
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue, expected_codes
from tests.unit.haproxy_samples import (
    MINIMAL_HTTP_GOLDEN,
    STATE_OFF,
    make_listener,
    make_member,
    make_monitor,
    make_pool,
    make_tree,
    render,
    section,
    server_lines,
)


def test_unmonitored_backend_does_not_restore_saved_server_state() -> None:
    """A server marked DOWN by a monitor that was then removed must come back: its saved
    state is not restored once nothing checks it."""
    unmonitored = section(render(make_tree()), "backend pool-1", keep_state_line=True)
    assert STATE_OFF in unmonitored
    monitored = make_pool(healthmonitor=make_monitor())
    body = section(render(make_tree(pools=[monitored])), "backend pool-1", keep_state_line=True)
    assert STATE_OFF not in body


@pytest.mark.parametrize(
    ("algorithm", "lines"),
    [
        ("ROUND_ROBIN", ["balance roundrobin"]),
        ("LEAST_CONNECTIONS", ["balance leastconn"]),
        ("SOURCE_IP", ["balance source"]),
        (
            "SOURCE_IP_PORT",
            [
                "tcp-request content set-var(txn.lb_src_port) src_port",
                "balance hash src,concat(:,txn.lb_src_port)",
            ],
        ),
    ],
)
def test_backend_algorithm_renders_balance(algorithm: str, lines: list[str]) -> None:
    body = section(render(make_tree(pools=[make_pool(lb_algorithm=algorithm)])), "backend pool-1")
    assert body[1 : 1 + len(lines)] == lines


def test_backend_proxy_pool_behind_http_listener_is_http_mode() -> None:
    config = render(make_tree(pools=[make_pool(protocol="PROXY")]))
    assert section(config, "backend pool-1")[0] == "mode http"
    assert server_lines(config) == ["server member-1 192.0.2.11:8080 weight 1 send-proxy"]


def test_backend_proxyv2_pool_behind_tcp_listener_is_tcp_mode() -> None:
    tree = make_tree(
        listeners=[make_listener(protocol="TCP")], pools=[make_pool(protocol="PROXYV2")]
    )
    config = render(tree)
    assert section(config, "backend pool-1")[0] == "mode tcp"
    assert server_lines(config) == ["server member-1 192.0.2.11:8080 weight 1 send-proxy-v2"]


def test_backend_timeouts_use_largest_of_listeners() -> None:
    listeners = [
        make_listener(timeout_member_connect=1000, timeout_member_data=90000),
        make_listener(
            id="listener-2", protocol_port=81, timeout_member_connect=4000, timeout_member_data=1000
        ),
    ]
    body = section(render(make_tree(listeners=listeners)), "backend pool-1")
    assert body[2:4] == ["timeout connect 4000ms", "timeout server 90000ms"]


def test_backend_without_listener_uses_default_timeouts() -> None:
    body = section(render(make_tree(listeners=[])), "backend pool-1")
    assert body[:4] == [
        "mode http",
        "balance roundrobin",
        "timeout connect 5000ms",
        "timeout server 50000ms",
    ]


def test_backend_tcp_pool_without_listener_is_tcp_mode() -> None:
    body = section(
        render(make_tree(listeners=[], pools=[make_pool(protocol="TCP")])), "backend pool-1"
    )
    assert body[0] == "mode tcp"


@pytest.mark.parametrize("protocol", ["UDP", "SCTP"])
def test_backend_unsupported_pool_protocol_is_skipped(protocol: str) -> None:
    pools = [make_pool(), make_pool(id="pool-2", protocol=protocol)]
    assert render(make_tree(pools=pools)) == MINIMAL_HTTP_GOLDEN


def test_backend_pending_delete_member_is_omitted() -> None:
    members = [make_member(), make_member(id="member-2", provisioning_status="PENDING_DELETE")]
    assert render(make_tree(pools=[make_pool(members=members)])) == MINIMAL_HTTP_GOLDEN


def test_backend_monitor_being_deleted_is_omitted() -> None:
    """A monitor in PENDING_DELETE renders as no monitor: its deletion is applied now (the
    server removes the row once the agent reports, without a new revision)."""
    deleted = make_monitor(provisioning_status="PENDING_DELETE")
    assert render(make_tree(pools=[make_pool(healthmonitor=deleted)])) == render(
        make_tree(pools=[make_pool(healthmonitor=None)]))
    assert " check" in render(make_tree(pools=[make_pool(healthmonitor=make_monitor())]))


@pytest.mark.parametrize(
    ("persistence", "vip", "lines"),
    [
        pytest.param(
            SessionPersistenceNode(type="SOURCE_IP"),
            "203.0.113.10",
            ["stick-table type ip size 10k expire 1800s", "stick on src"],
            id="source-ip",
        ),
        pytest.param(
            SessionPersistenceNode(type="SOURCE_IP", persistence_timeout=60),
            "2001:db8::10",
            ["stick-table type ipv6 size 10k expire 60s", "stick on src"],
            id="source-ip-v6",
        ),
        pytest.param(
            SessionPersistenceNode(type="APP_COOKIE", cookie_name="JSESSIONID"),
            "203.0.113.10",
            [
                "stick-table type string len 64 size 10k expire 1800s",
                "stick store-response res.cook('JSESSIONID')",
                "stick match req.cook('JSESSIONID')",
            ],
            id="app-cookie",
        ),
        pytest.param(
            SessionPersistenceNode(type="HTTP_COOKIE"),
            "203.0.113.10",
            ["cookie SRV insert indirect nocache"],
            id="http-cookie",
        ),
    ],
)
def test_backend_persistence_renders_stickiness(
    persistence: SessionPersistenceNode, vip: str, lines: list[str]
) -> None:
    config = render(make_tree(vip_address=vip, pools=[make_pool(session_persistence=persistence)]))
    assert section(config, "backend pool-1")[4:] == [*lines, *server_lines(config)]


@pytest.mark.parametrize("kind", ["HTTP_COOKIE", "APP_COOKIE"])
def test_backend_cookie_persistence_is_skipped_in_tcp_mode(kind: str) -> None:
    persistence = SessionPersistenceNode(type=kind, cookie_name="SID")
    tree = make_tree(
        listeners=[make_listener(protocol="TCP")],
        pools=[make_pool(protocol="TCP", session_persistence=persistence)],
    )
    config = render(tree)
    assert section(config, "backend pool-1")[4:] == ["server member-1 192.0.2.11:8080 weight 1"]


@pytest.mark.parametrize(
    ("monitor", "lines", "server_options"),
    [
        pytest.param(make_monitor(type="TCP"), [], " check inter 5s fall 3 rise 2", id="tcp"),
        pytest.param(
            make_monitor(type="PING"), [], " check inter 5s fall 3 rise 2", id="ping-is-tcp-connect"
        ),
        pytest.param(
            make_monitor(type="TLS-HELLO"),
            ["option ssl-hello-chk"],
            " check inter 5s fall 3 rise 2",
            id="tls-hello",
        ),
        pytest.param(
            make_monitor(type="HTTP"),
            [
                "option httpchk",
                "http-check send meth GET uri '/' ver HTTP/1.0",
                "http-check expect status 200",
            ],
            " check inter 5s fall 3 rise 2",
            id="http-defaults",
        ),
        pytest.param(
            make_monitor(type="HTTPS", url_path="/st", expected_codes="200-299"),
            [
                "option httpchk",
                "http-check send meth GET uri '/st' ver HTTP/1.0",
                "http-check expect status 200-299",
            ],
            " check inter 5s fall 3 rise 2 check-ssl verify none",
            id="https",
        ),
    ],
)
def test_backend_monitor_type_renders_check(
    monitor: HealthMonitorNode, lines: list[str], server_options: str
) -> None:
    config = render(make_tree(pools=[make_pool(healthmonitor=monitor)]))
    assert section(config, "backend pool-1")[4:] == [
        "timeout check 3s",
        *lines,
        f"server member-1 192.0.2.11:8080 weight 1{server_options}",
    ]


@pytest.mark.parametrize(
    "monitor",
    [
        pytest.param(make_monitor(admin_state_up=False), id="disabled"),
        pytest.param(make_monitor(type="UDP-CONNECT"), id="udp-connect"),
        pytest.param(make_monitor(type="SCTP"), id="sctp"),
    ],
)
def test_backend_monitor_disabled_or_unsupported_renders_no_check(
    monitor: HealthMonitorNode,
) -> None:
    assert render(make_tree(pools=[make_pool(healthmonitor=monitor)])) == MINIMAL_HTTP_GOLDEN


@pytest.mark.parametrize(
    ("codes", "normalized"),
    [
        ("200", "200"),
        ("200,202", "200,202"),
        ("200-204", "200-204"),
        (" 200 , 301-302", "200,301-302"),
    ],
)
def test_expected_codes_valid_forms_are_normalized(codes: str, normalized: str) -> None:
    assert expected_codes(codes) == normalized


@pytest.mark.parametrize(
    "codes", ["", "20", "2000", "600", "abc", "204-200", "200;202", "200 hdr x", "200-"]
)
def test_expected_codes_invalid_forms_raise(codes: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        expected_codes(codes)


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        pytest.param(make_pool(protocol="QUIC"), "unknown protocol", id="protocol"),
        pytest.param(make_pool(lb_algorithm="RANDOM"), "lb_algorithm", id="algorithm"),
        pytest.param(
            make_pool(session_persistence=SessionPersistenceNode(type="JWT")),
            "persistence",
            id="persistence",
        ),
        pytest.param(
            make_pool(healthmonitor=make_monitor(type="DNS")), "unknown type", id="monitor-type"
        ),
        pytest.param(make_pool(healthmonitor=make_monitor(delay=0)), "delay", id="delay"),
        pytest.param(
            make_pool(healthmonitor=make_monitor(max_retries=11)), "max_retries", id="rise"
        ),
        pytest.param(
            make_pool(healthmonitor=make_monitor(type="HTTP", http_version=2.0)),
            "http_version",
            id="version",
        ),
        pytest.param(make_pool(members=[make_member(weight=257)]), "weight", id="weight"),
        pytest.param(make_pool(members=[make_member(protocol_port=0)]), "protocol_port", id="port"),
        pytest.param(
            make_pool(members=[make_member(address="backend.example.com")]),
            "IP address",
            id="hostname",
        ),
        pytest.param(
            make_pool(members=[make_member(monitor_port=70000)]), "monitor_port", id="monitor-port"
        ),
        pytest.param(
            make_pool(members=[make_member(), make_member()]),
            "duplicate member id",
            id="dup-member",
        ),
    ],
)
def test_backend_invalid_pool_raises(pool: PoolNode, message: str) -> None:
    with pytest.raises(UnsafeConfigValue, match=message):
        render(make_tree(pools=[pool]))


def test_backend_duplicate_pool_id_raises() -> None:
    with pytest.raises(UnsafeConfigValue, match="duplicate pool id"):
        render(make_tree(pools=[make_pool(), make_pool()]))
