"""Whole rendered configs against golden texts, and the global section.

Tests of the pure HAProxy config renderer (:mod:`lbaas.drivers.haproxy.render` and the view
modules); samples come from :mod:`tests.unit.haproxy_samples`.
"""

from __future__ import annotations

import pytest

from lbaas.core.tree import (
    SessionPersistenceNode,
)
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from tests.unit.haproxy_samples import (
    MINIMAL_HTTP_GOLDEN,
    PATHS,
    make_listener,
    make_member,
    make_monitor,
    make_policy,
    make_pool,
    make_rule,
    make_tree,
    render,
    section,
)

# --- golden text ------------------------------------------------------------------------------


def test_render_minimal_http_lb_matches_golden() -> None:
    assert render(make_tree()) == MINIMAL_HTTP_GOLDEN


def test_render_rich_http_frontend_matches_golden() -> None:
    listener = make_listener(
        connection_limit=1000,
        timeout_client_data=20000,
        timeout_tcp_inspect=500,
        allowed_cidrs=["10.1.2.3/8", "2001:db8::/32"],
        insert_headers={
            "X-Forwarded-For": "true",
            "X-Forwarded-Port": "True",
            "X-Forwarded-Proto": "1",
        },
        l7policies=[
            make_policy(
                id="policy-pool",
                action="REDIRECT_TO_POOL",
                position=1,
                redirect_pool_id="pool-2",
                rules=[
                    make_rule(id="rule-path"),
                    make_rule(
                        id="rule-header",
                        type="HEADER",
                        compare_type="EQUAL_TO",
                        key="X-Version",
                        value="2",
                        invert=True,
                    ),
                ],
            ),
            make_policy(
                id="policy-reject",
                action="REJECT",
                position=2,
                rules=[
                    make_rule(
                        id="rule-host",
                        type="HOST_NAME",
                        compare_type="ENDS_WITH",
                        value=".example.net",
                    )
                ],
            ),
        ],
    )
    config = render(make_tree(listeners=[listener], pools=[make_pool(), make_pool(id="pool-2")]))
    assert section(config, "frontend listener-1") == [
        "mode http",
        "bind 203.0.113.10:80",
        "maxconn 1000",
        "timeout client 20000ms",
        "tcp-request inspect-delay 500ms",
        "acl _allowed_cidrs src 10.0.0.0/8 2001:db8::/32",
        "tcp-request connection reject if !_allowed_cidrs",
        "option idle-close-on-response",
        "option forwardfor",
        "http-request set-header X-Forwarded-Port %[dst_port]",
        "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
        "http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
        "acl rule-host req.hdr('host') -i -m end -- '.example.net'",
        "acl rule-path path -m beg -- '/api'",
        "acl rule-header req.hdr('X-Version') -m str -- '2'",
        "http-request deny if rule-host",
        "use_backend pool-2 if rule-path !rule-header",
        "default_backend pool-1",
    ]


def test_render_rich_backend_matches_golden() -> None:
    pool = make_pool(
        lb_algorithm="LEAST_CONNECTIONS",
        session_persistence=SessionPersistenceNode(type="HTTP_COOKIE"),
        healthmonitor=make_monitor(
            type="HTTP",
            http_method="HEAD",
            url_path="/healthz",
            expected_codes="200,202",
            http_version=1.1,
            domain_name="app.example.com",
            max_retries_down=4,
        ),
        members=[
            make_member(),
            make_member(id="member-2", address="2001:db8::12", weight=0, backup=True),
            make_member(
                id="member-3", admin_state_up=False, monitor_address="192.0.2.99", monitor_port=9000
            ),
        ],
    )
    listener = make_listener(timeout_member_connect=3000, timeout_member_data=40000)
    config = render(make_tree(listeners=[listener], pools=[pool]))
    assert section(config, "backend pool-1") == [
        "mode http",
        "balance leastconn",
        "timeout connect 3000ms",
        "timeout server 40000ms",
        "cookie SRV insert indirect nocache",
        "timeout check 3s",
        "option httpchk",
        "http-check send meth HEAD uri '/healthz' ver HTTP/1.1 hdr Host 'app.example.com'",
        "http-check expect status 200,202",
        "server member-1 192.0.2.11:8080 weight 1 cookie member-1 check inter 5s fall 4 rise 2",
        "server member-2 [2001:db8::12]:8080 weight 0 backup cookie member-2"
        " check inter 5s fall 4 rise 2",
        "server member-3 192.0.2.11:8080 weight 1 disabled cookie member-3"
        " check inter 5s fall 4 rise 2 addr 192.0.2.99 port 9000",
    ]


# --- global -----------------------------------------------------------------------------------


def test_global_maxconn_sums_connection_limits_with_floor() -> None:
    listeners = [
        make_listener(id="listener-1", connection_limit=700),
        make_listener(id="listener-2", protocol_port=81, connection_limit=800),
    ]
    assert "maxconn 1500" in section(render(make_tree(listeners=listeners)), "global")
    small = [make_listener(connection_limit=10)]
    assert "maxconn 1000" in section(render(make_tree(listeners=small)), "global")


def test_global_maxconn_unlimited_listener_is_capped() -> None:
    listeners = [
        make_listener(id="listener-1", connection_limit=-1),
        make_listener(id="listener-2", protocol_port=81, connection_limit=0),
        make_listener(id="listener-3", protocol_port=82, connection_limit=20000),
    ]
    config = render(make_tree(listeners=listeners))
    assert "maxconn 8000" in section(config, "global")
    assert "maxconn 8000" in section(config, "frontend listener-2")
    assert "maxconn 20000" in section(config, "frontend listener-3")


def test_global_maxconn_follows_max_connections_argument() -> None:
    config = render_haproxy_config(make_tree(), PATHS, max_connections=50000)
    assert "maxconn 50000" in section(config, "global")
    assert "maxconn 50000" in section(config, "frontend listener-1")
    with pytest.raises(UnsafeConfigValue, match="max_connections"):
        render_haproxy_config(make_tree(), PATHS, max_connections=0)


def test_global_paths_with_spaces_are_quoted() -> None:
    paths = ConfigRuntimePaths(
        stats_socket="/run/my lbs/h.sock", server_state_file="/run/my lbs/s'state"
    )
    config = render_haproxy_config(make_tree(), paths)
    assert "stats socket '/run/my lbs/h.sock' mode 600 level admin expose-fd listeners" in config
    assert "server-state-file '/run/my lbs/s'\\''state'" in config


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param(ConfigRuntimePaths("relative.sock", "/x/servers.state"), id="relative-socket"),
        pytest.param(
            ConfigRuntimePaths("/x/h.sock", "/x/s\nstats socket /tmp/x"), id="newline-state"
        ),
        pytest.param(ConfigRuntimePaths("/" + "d" * 120 + "/h.sock", "/x/s"), id="socket-too-long"),
    ],
)
def test_global_bad_paths_raise(paths: ConfigRuntimePaths) -> None:
    with pytest.raises(UnsafeConfigValue):
        render_haproxy_config(make_tree(), paths)
