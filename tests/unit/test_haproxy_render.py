"""Tests of the pure HAProxy config renderer (lbaas.drivers.haproxy.render, the view_* modules
and .escaping).

Golden text from small sample factories, no mocks; hostile-input tests; and ``haproxy -c`` on
rendered configs when the haproxy binary is installed (no network namespace needed: ``-c`` does
not bind).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lbaas.drivers.haproxy.escaping import UnsafeConfigValue, expected_codes, quote
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from lbaas.rpc.payloads import (
    HealthMonitorPayload,
    L7PolicyPayload,
    L7RulePayload,
    ListenerPayload,
    LoadBalancerTree,
    MemberPayload,
    PoolPayload,
    SessionPersistencePayload,
)

PATHS = ConfigRuntimePaths(
    stats_socket="/var/lib/lbaas/lbaas/lb-1/haproxy.sock",
    server_state_file="/var/lib/lbaas/lbaas/lb-1/servers.state",
)
HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")


# --- sample factories -------------------------------------------------------------------------


def make_member(**overrides: Any) -> MemberPayload:
    fields: dict[str, Any] = {"id": "member-1", "address": "192.0.2.11", "protocol_port": 8080}
    return MemberPayload(**(fields | overrides))


def make_monitor(**overrides: Any) -> HealthMonitorPayload:
    fields: dict[str, Any] = {
        "id": "hm-1",
        "type": "TCP",
        "delay": 5,
        "timeout": 3,
        "max_retries": 2,
    }
    return HealthMonitorPayload(**(fields | overrides))


def make_pool(**overrides: Any) -> PoolPayload:
    fields: dict[str, Any] = {
        "id": "pool-1",
        "protocol": "HTTP",
        "lb_algorithm": "ROUND_ROBIN",
        "members": [make_member()],
    }
    return PoolPayload(**(fields | overrides))


def make_rule(**overrides: Any) -> L7RulePayload:
    fields: dict[str, Any] = {
        "id": "rule-1",
        "type": "PATH",
        "compare_type": "STARTS_WITH",
        "value": "/api",
    }
    return L7RulePayload(**(fields | overrides))


def make_policy(**overrides: Any) -> L7PolicyPayload:
    fields: dict[str, Any] = {
        "id": "policy-1",
        "action": "REJECT",
        "position": 1,
        "rules": [make_rule()],
    }
    return L7PolicyPayload(**(fields | overrides))


def make_listener(**overrides: Any) -> ListenerPayload:
    fields: dict[str, Any] = {
        "id": "listener-1",
        "protocol": "HTTP",
        "protocol_port": 80,
        "default_pool_id": "pool-1",
    }
    return ListenerPayload(**(fields | overrides))


def make_tree(**overrides: Any) -> LoadBalancerTree:
    fields: dict[str, Any] = {
        "id": "lb-1",
        "project_id": "project-1",
        "vip_address": "203.0.113.10",
        "vip_network_id": "network-1",
        "vip_subnet": {"id": "subnet-1", "network_id": "network-1", "cidr": "203.0.113.0/24"},
        "provisioning_status": "ACTIVE",
        "listeners": [make_listener()],
        "pools": [make_pool()],
    }
    return LoadBalancerTree(**(fields | overrides))


def render(tree: LoadBalancerTree) -> str:
    return render_haproxy_config(tree, PATHS)


STATE_OFF = "load-server-state-from-file none"


def section(config: str, header: str, keep_state_line: bool = False) -> list[str]:
    """The stripped body lines of the section that starts with ``header`` (without the
    server-state line of unmonitored backends, which has tests of its own)."""
    lines = config.splitlines()
    start = lines.index(header) + 1
    body = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        if line.strip() != STATE_OFF or keep_state_line:
            body.append(line.strip())
    return body


def test_unmonitored_backend_does_not_restore_saved_server_state() -> None:
    """A server marked DOWN by a monitor that was then removed must come back: its saved
    state is not restored once nothing checks it."""
    unmonitored = section(render(make_tree()), "backend pool-1", keep_state_line=True)
    assert STATE_OFF in unmonitored
    monitored = make_pool(healthmonitor=make_monitor())
    body = section(render(make_tree(pools=[monitored])), "backend pool-1", keep_state_line=True)
    assert STATE_OFF not in body


def section_headers(config: str) -> list[str]:
    return [
        line for line in config.splitlines() if line and not line[0].isspace() and line[0] != "#"
    ]


def server_lines(config: str, pool_id: str = "pool-1") -> list[str]:
    return [line for line in section(config, f"backend {pool_id}") if line.startswith("server ")]


# --- golden text ------------------------------------------------------------------------------

MINIMAL_HTTP_GOLDEN = """\
# haproxy.cfg for load balancer lb-1, rendered by lbaas: do not edit.
# master-worker mode comes from the command line (-W -S).

global
    nbthread 1
    maxconn 8000
    hard-stop-after 2m
    stats socket '/var/lib/lbaas/lbaas/lb-1/haproxy.sock' mode 600 level admin expose-fd listeners
    server-state-file '/var/lib/lbaas/lbaas/lb-1/servers.state'

defaults
    option redispatch
    retries 3
    load-server-state-from-file global
    timeout connect 5000ms
    timeout client 50000ms
    timeout server 50000ms
    timeout check 5000ms

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
    server member-1 192.0.2.11:8080 weight 1
"""


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
        session_persistence=SessionPersistencePayload(type="HTTP_COOKIE"),
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


# --- frontends --------------------------------------------------------------------------------


def test_frontend_ipv6_vip_is_bracketed() -> None:
    config = render(make_tree(vip_address="2001:db8::10"))
    assert "bind [2001:db8::10]:80" in section(config, "frontend listener-1")


@pytest.mark.parametrize("protocol", ["TCP", "HTTPS"])
def test_frontend_tcp_and_https_passthrough_use_mode_tcp(protocol: str) -> None:
    listener = make_listener(
        protocol=protocol,
        insert_headers={"X-Forwarded-For": "true"},
        l7policies=[make_policy()],
    )
    pool = make_pool(protocol="TCP" if protocol == "TCP" else "HTTPS")
    config = render(make_tree(listeners=[listener], pools=[pool]))
    assert section(config, "frontend listener-1") == [
        "mode tcp",
        "bind 203.0.113.10:80",
        "maxconn 8000",
        "timeout client 50000ms",
        "default_backend pool-1",
    ]
    assert section(config, "backend pool-1")[0] == "mode tcp"


@pytest.mark.parametrize("protocol", ["TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"])
def test_frontend_unsupported_protocol_is_skipped(protocol: str) -> None:
    listeners = [
        make_listener(),
        make_listener(id="listener-2", protocol=protocol, protocol_port=443),
    ]
    assert render(make_tree(listeners=listeners)) == MINIMAL_HTTP_GOLDEN


def test_frontend_disabled_listener_is_omitted() -> None:
    listeners = [
        make_listener(),
        make_listener(id="listener-2", protocol_port=81, admin_state_up=False),
    ]
    assert render(make_tree(listeners=listeners)) == MINIMAL_HTTP_GOLDEN


def test_frontend_pending_delete_listener_is_omitted() -> None:
    listeners = [
        make_listener(),
        make_listener(id="listener-2", protocol_port=81, provisioning_status="PENDING_DELETE"),
    ]
    assert render(make_tree(listeners=listeners)) == MINIMAL_HTTP_GOLDEN


def test_frontend_disabled_lb_renders_no_frontends() -> None:
    config = render(make_tree(admin_state_up=False))
    assert section_headers(config) == ["global", "defaults", "backend pool-1"]


def test_frontend_default_backend_omitted_when_pool_disabled() -> None:
    config = render(make_tree(pools=[make_pool(admin_state_up=False)]))
    assert section_headers(config) == ["global", "defaults", "frontend listener-1"]
    assert not any(
        line.startswith("default_backend") for line in section(config, "frontend listener-1")
    )


def test_frontend_allowed_cidrs_are_chunked_per_line() -> None:
    cidrs = [f"10.{i}.0.0/16" for i in range(40)] + ["10.0.0.0/16"]  # one duplicate
    config = render(make_tree(listeners=[make_listener(allowed_cidrs=cidrs)]))
    acls = [
        line for line in section(config, "frontend listener-1") if line.startswith("acl _allowed")
    ]
    assert [len(line.split()) - 3 for line in acls] == [32, 8]


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "", "maybe"])
def test_frontend_insert_headers_false_ish_values_add_nothing(value: str) -> None:
    headers = {"X-Forwarded-For": value, "X-Forwarded-Port": value, "X-Forwarded-Proto": value}
    config = render(make_tree(listeners=[make_listener(insert_headers=headers)]))
    assert config == MINIMAL_HTTP_GOLDEN


def test_frontend_timeout_out_of_range_raises() -> None:
    with pytest.raises(UnsafeConfigValue, match="timeout_client_data"):
        render(make_tree(listeners=[make_listener(timeout_client_data=2**31)]))


def test_frontend_duplicate_id_raises() -> None:
    listeners = [make_listener(), make_listener(protocol_port=81)]
    with pytest.raises(UnsafeConfigValue, match="duplicate listener id"):
        render(make_tree(listeners=listeners))


def test_frontend_duplicate_port_raises() -> None:
    listeners = [make_listener(), make_listener(id="listener-2")]
    with pytest.raises(UnsafeConfigValue, match="duplicate listener protocol_port"):
        render(make_tree(listeners=listeners))


# --- L7 policies and rules --------------------------------------------------------------------


def _frontend_rules(
    policies: list[L7PolicyPayload], pools: list[PoolPayload] | None = None
) -> list[str]:
    tree = make_tree(
        listeners=[make_listener(l7policies=policies)],
        pools=pools or [make_pool(), make_pool(id="pool-2")],
    )
    lines = section(render(tree), "frontend listener-1")
    return [
        line
        for line in lines
        if line.split()[0] in ("acl", "http-request", "redirect", "use_backend")
    ]


def test_l7_policies_are_ordered_by_action_then_position() -> None:
    policies = [
        make_policy(
            id="p1",
            action="REDIRECT_TO_POOL",
            position=1,
            redirect_pool_id="pool-2",
            rules=[make_rule(id="r1")],
        ),
        make_policy(
            id="p2",
            action="REDIRECT_PREFIX",
            position=2,
            redirect_prefix="https://b.example",
            rules=[make_rule(id="r2")],
        ),
        make_policy(id="p3", action="REJECT", position=4, rules=[make_rule(id="r3")]),
        make_policy(
            id="p4",
            action="REDIRECT_TO_URL",
            position=3,
            redirect_url="https://a.example/x",
            redirect_http_code=308,
            rules=[make_rule(id="r4")],
        ),
        make_policy(id="p5", action="REJECT", position=0, rules=[make_rule(id="r5")]),
    ]
    assert [line for line in _frontend_rules(policies) if not line.startswith("acl")] == [
        "http-request deny if r5",
        "http-request deny if r3",
        "redirect prefix 'https://b.example' code 302 if r2",
        "redirect location 'https://a.example/x' code 308 if r4",
        "use_backend pool-2 if r1",
    ]


@pytest.mark.parametrize(
    ("rule", "acl"),
    [
        pytest.param(make_rule(compare_type="EQUAL_TO"), "path -m str -- '/api'", id="path-equal"),
        pytest.param(
            make_rule(compare_type="STARTS_WITH"), "path -m beg -- '/api'", id="path-starts"
        ),
        pytest.param(make_rule(compare_type="ENDS_WITH"), "path -m end -- '/api'", id="path-ends"),
        pytest.param(
            make_rule(compare_type="CONTAINS"), "path -m sub -- '/api'", id="path-contains"
        ),
        pytest.param(
            make_rule(compare_type="REGEX", value="^/api/v[12]$"),
            "path -m reg -- '^/api/v[12]$'",
            id="path-regex",
        ),
        pytest.param(
            make_rule(type="HOST_NAME", compare_type="EQUAL_TO", value="www.example.com"),
            "req.hdr('host') -i -m str -- 'www.example.com'",
            id="host",
        ),
        pytest.param(
            make_rule(type="HEADER", compare_type="CONTAINS", key="User-Agent", value="curl"),
            "req.hdr('User-Agent') -m sub -- 'curl'",
            id="header",
        ),
        pytest.param(
            make_rule(type="COOKIE", compare_type="EQUAL_TO", key="beta", value="1"),
            "req.cook('beta') -m str -- '1'",
            id="cookie",
        ),
        pytest.param(
            make_rule(type="FILE_TYPE", compare_type="EQUAL_TO", value="jpg"),
            "path -m end -- '.jpg'",
            id="file-type",
        ),
        pytest.param(
            make_rule(type="FILE_TYPE", compare_type="REGEX", value=r"\.(png|gif)$"),
            r"path -m reg -- '\.(png|gif)$'",
            id="file-type-regex",
        ),
        pytest.param(
            make_rule(type="SSL_CONN_HAS_CERT", compare_type="EQUAL_TO", value="True"),
            "ssl_c_used",
            id="ssl-has-cert",
        ),
        pytest.param(
            make_rule(type="SSL_VERIFY_RESULT", compare_type="EQUAL_TO", value="0"),
            "ssl_c_verify -- '0'",
            id="ssl-verify",
        ),
        pytest.param(
            make_rule(type="SSL_DN_FIELD", compare_type="STARTS_WITH", key="CN", value="client"),
            "ssl_c_s_dn('CN') -m beg -- 'client'",
            id="ssl-dn",
        ),
    ],
)
def test_l7_rule_type_renders_acl(rule: L7RulePayload, acl: str) -> None:
    assert _frontend_rules([make_policy(rules=[rule])]) == [
        f"acl rule-1 {acl}",
        "http-request deny if rule-1",
    ]


def test_l7_disabled_policies_and_rules_are_skipped() -> None:
    policies = [
        make_policy(id="p1", admin_state_up=False, rules=[make_rule(id="r1")]),
        make_policy(id="p2", rules=[make_rule(id="r2", admin_state_up=False)]),
        make_policy(id="p3", rules=[]),
        make_policy(id="p4", rules=[make_rule(id="r4"), make_rule(id="r5", admin_state_up=False)]),
    ]
    assert _frontend_rules(policies) == ["acl r4 path -m beg -- '/api'", "http-request deny if r4"]


def test_l7_redirect_to_unrendered_pool_is_skipped() -> None:
    policies = [
        make_policy(id="p1", action="REDIRECT_TO_POOL", redirect_pool_id="pool-2"),
        make_policy(
            id="p2",
            action="REDIRECT_TO_POOL",
            redirect_pool_id="missing",
            rules=[make_rule(id="r2")],
        ),
    ]
    pools = [make_pool(), make_pool(id="pool-2", admin_state_up=False)]
    assert _frontend_rules(policies, pools) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"action": "DROP"}, "unknown action", id="action"),
        pytest.param(
            {"rules": [make_rule(compare_type="LIKE")]}, "compare_type", id="compare-type"
        ),
        pytest.param({"rules": [make_rule(type="QUERY")]}, "not supported", id="rule-type"),
        pytest.param(
            {"rules": [make_rule(type="FILE_TYPE", compare_type="CONTAINS")]},
            "not supported",
            id="file-type-contains",
        ),
        pytest.param(
            {"rules": [make_rule(compare_type="REGEX", value="(")]},
            "regular expression",
            id="bad-regex",
        ),
        pytest.param({"rules": [make_rule(value="")]}, "non-empty", id="empty-value"),
        pytest.param(
            {"rules": [make_rule(type="SSL_VERIFY_RESULT", compare_type="EQUAL_TO", value="x")]},
            "integer",
            id="verify",
        ),
        pytest.param(
            {
                "action": "REDIRECT_TO_URL",
                "redirect_url": "https://a.example",
                "redirect_http_code": 200,
            },
            "redirect_http_code",
            id="code",
        ),
        pytest.param(
            {"rules": [make_rule(id=f"r{i}") for i in range(51)]}, "at most", id="too-many-rules"
        ),
        pytest.param(
            {"rules": [make_rule(), make_rule()]}, "duplicate L7 rule id", id="duplicate-rule"
        ),
    ],
)
def test_l7_invalid_policy_raises(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsafeConfigValue, match=message):
        _frontend_rules([make_policy(**overrides)])


# --- backends ---------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("persistence", "vip", "lines"),
    [
        pytest.param(
            SessionPersistencePayload(type="SOURCE_IP"),
            "203.0.113.10",
            ["stick-table type ip size 10k expire 1800s", "stick on src"],
            id="source-ip",
        ),
        pytest.param(
            SessionPersistencePayload(type="SOURCE_IP", persistence_timeout=60),
            "2001:db8::10",
            ["stick-table type ipv6 size 10k expire 60s", "stick on src"],
            id="source-ip-v6",
        ),
        pytest.param(
            SessionPersistencePayload(type="APP_COOKIE", cookie_name="JSESSIONID"),
            "203.0.113.10",
            [
                "stick-table type string len 64 size 10k expire 1800s",
                "stick store-response res.cook('JSESSIONID')",
                "stick match req.cook('JSESSIONID')",
            ],
            id="app-cookie",
        ),
        pytest.param(
            SessionPersistencePayload(type="HTTP_COOKIE"),
            "203.0.113.10",
            ["cookie SRV insert indirect nocache"],
            id="http-cookie",
        ),
    ],
)
def test_backend_persistence_renders_stickiness(
    persistence: SessionPersistencePayload, vip: str, lines: list[str]
) -> None:
    config = render(make_tree(vip_address=vip, pools=[make_pool(session_persistence=persistence)]))
    assert section(config, "backend pool-1")[4:] == [*lines, *server_lines(config)]


@pytest.mark.parametrize("kind", ["HTTP_COOKIE", "APP_COOKIE"])
def test_backend_cookie_persistence_is_skipped_in_tcp_mode(kind: str) -> None:
    persistence = SessionPersistencePayload(type=kind, cookie_name="SID")
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
    monitor: HealthMonitorPayload, lines: list[str], server_options: str
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
    monitor: HealthMonitorPayload,
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
            make_pool(session_persistence=SessionPersistencePayload(type="JWT")),
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
def test_backend_invalid_pool_raises(pool: PoolPayload, message: str) -> None:
    with pytest.raises(UnsafeConfigValue, match=message):
        render(make_tree(pools=[pool]))


def test_backend_duplicate_pool_id_raises() -> None:
    with pytest.raises(UnsafeConfigValue, match="duplicate pool id"):
        render(make_tree(pools=[make_pool(), make_pool()]))


# --- hostile input ----------------------------------------------------------------------------

INJECTIONS = [
    "x\nbackend evil",
    "x\r\n    server evil 10.0.0.1:80",
    "x\x00y",
    "x\u2028y",
]
QUOTABLE = [
    "a b",
    "a#b",
    "a'b",
    'a"b',
    "a\\b",
    "$HOME",
    "}",
    "if TRUE",
    "-f /etc/passwd",
    "%[src]",
    "'; use_backend x",
]


def assert_harmless(config: str, benign: str) -> None:
    """Same sections and same number of lines as the benign rendering."""
    assert section_headers(config) == section_headers(benign)
    assert len(config.splitlines()) == len(benign.splitlines())


def test_quote_escapes_single_quotes() -> None:
    assert quote("a'b") == "'a'\\''b'"
    assert quote("a b#c$d") == "'a b#c$d'"


@pytest.mark.parametrize("value", ["", *INJECTIONS])
def test_quote_refuses_empty_and_control_characters(value: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        quote(value)


def _tree_with_rule(rule: L7RulePayload) -> LoadBalancerTree:
    return make_tree(listeners=[make_listener(l7policies=[make_policy(rules=[rule])])])


@pytest.mark.parametrize("value", QUOTABLE)
@pytest.mark.parametrize("rule_type", ["PATH", "HOST_NAME", "HEADER", "COOKIE", "SSL_DN_FIELD"])
def test_hostile_l7_value_is_quoted_harmlessly(rule_type: str, value: str) -> None:
    def rule(v: str) -> L7RulePayload:
        return make_rule(
            type=rule_type,
            compare_type="EQUAL_TO",
            key="CN" if rule_type == "SSL_DN_FIELD" else "X-Key",
            value=v,
        )

    config = render(_tree_with_rule(rule(value)))
    assert_harmless(config, render(_tree_with_rule(rule("benign"))))
    assert f" -- {quote(value)}" in config


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("compare_type", ["EQUAL_TO", "REGEX"])
def test_hostile_l7_value_with_control_characters_raises(compare_type: str, value: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(_tree_with_rule(make_rule(compare_type=compare_type, value=value)))


@pytest.mark.parametrize(
    "key", ["X Key", "X-Key)", "X,Key", "X'Key", 'X"Key', "X\\Key", "X\nKey", "", "Ünicode"]
)
@pytest.mark.parametrize("rule_type", ["HEADER", "COOKIE"])
def test_hostile_l7_key_raises(rule_type: str, key: str) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(
            _tree_with_rule(make_rule(type=rule_type, compare_type="EQUAL_TO", key=key, value="v"))
        )


def test_hostile_l7_key_with_token_characters_is_quoted() -> None:
    config = render(
        _tree_with_rule(make_rule(type="HEADER", compare_type="EQUAL_TO", key="X#$Key", value="v"))
    )
    assert "acl rule-1 req.hdr('X#$Key') -m str -- 'v'" in config


@pytest.mark.parametrize(
    "path", ["/a b", "/a\nb", "health", "/x\thttp-check expect status 500", "/é"]
)
def test_hostile_url_path_raises(path: str) -> None:
    with pytest.raises(UnsafeConfigValue, match="URL path"):
        render(make_tree(pools=[make_pool(healthmonitor=make_monitor(type="HTTP", url_path=path))]))


@pytest.mark.parametrize("path", ["/a#b", "/a'b", "/%[src]", "/x?y=$HOME&z=}"])
def test_hostile_url_path_is_quoted_harmlessly(path: str) -> None:
    def tree(url_path: str) -> LoadBalancerTree:
        return make_tree(
            pools=[make_pool(healthmonitor=make_monitor(type="HTTP", url_path=url_path))]
        )

    config = render(tree(path))
    assert_harmless(config, render(tree("/health")))
    assert f"uri {quote(path)} ver" in config


@pytest.mark.parametrize(
    "monitor",
    [
        pytest.param(make_monitor(type="HTTP", http_method="GET uri /x"), id="method-injection"),
        pytest.param(make_monitor(type="HTTP", http_method="get"), id="method-lowercase"),
        pytest.param(make_monitor(type="HTTP", domain_name="a.example %[src]"), id="domain-space"),
        pytest.param(
            make_monitor(type="HTTP", domain_name="%[req.hdr(cookie)]"), id="domain-log-format"
        ),
        pytest.param(make_monitor(type="HTTP", domain_name="a.example\nb"), id="domain-newline"),
        pytest.param(
            make_monitor(type="HTTP", expected_codes="200\nhttp-check expect status 500"),
            id="codes-newline",
        ),
    ],
)
def test_hostile_monitor_fields_raise(monitor: HealthMonitorPayload) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(make_tree(pools=[make_pool(healthmonitor=monitor)]))


@pytest.mark.parametrize("cookie_name", ["SID x", "SID)", "SID,x", "SID'", "SID\n", "", "SÏD"])
def test_hostile_app_cookie_name_raises(cookie_name: str) -> None:
    persistence = SessionPersistencePayload(type="APP_COOKIE", cookie_name=cookie_name)
    with pytest.raises(UnsafeConfigValue, match="cookie_name"):
        render(make_tree(pools=[make_pool(session_persistence=persistence)]))


def test_hostile_app_cookie_name_with_token_characters_is_quoted() -> None:
    persistence = SessionPersistencePayload(type="APP_COOKIE", cookie_name="S#I$D")
    config = render(make_tree(pools=[make_pool(session_persistence=persistence)]))
    assert "stick match req.cook('S#I$D')" in config


@pytest.mark.parametrize(
    "url",
    [
        "https://a.example/x y",
        "https://a.example/\nbackend x",
        "javascript:alert(1)",
        "/relative",
        "https://",
        "ftp://a.example",
    ],
)
@pytest.mark.parametrize("action", ["REDIRECT_TO_URL", "REDIRECT_PREFIX"])
def test_hostile_redirect_target_raises(action: str, url: str) -> None:
    policy = make_policy(action=action, redirect_url=url, redirect_prefix=url)
    with pytest.raises(UnsafeConfigValue, match="redirect target"):
        render(make_tree(listeners=[make_listener(l7policies=[policy])]))


def test_hostile_redirect_target_is_quoted_harmlessly() -> None:
    def tree(url: str) -> LoadBalancerTree:
        policy = make_policy(action="REDIRECT_TO_URL", redirect_url=url)
        return make_tree(listeners=[make_listener(l7policies=[policy])])

    url = "https://a.example/p?q='#x}$HOME%[src]"
    config = render(tree(url))
    assert_harmless(config, render(tree("https://a.example/")))
    assert f"redirect location {quote(url)} code 302 if rule-1" in config


@pytest.mark.parametrize("cidr", ["10.0.0.0/8 }", "10.0.0.0/33", "any", "10.0.0.0/8\nbackend x"])
def test_hostile_allowed_cidr_raises(cidr: str) -> None:
    with pytest.raises(UnsafeConfigValue, match="CIDR"):
        render(make_tree(listeners=[make_listener(allowed_cidrs=[cidr])]))


@pytest.mark.parametrize(
    "tree",
    [
        pytest.param(make_tree(id="lb 1"), id="lb-id"),
        pytest.param(make_tree(listeners=[make_listener(id="l1\nbackend x")]), id="listener-id"),
        pytest.param(make_tree(pools=[make_pool(id="p#1")], listeners=[]), id="pool-id"),
        pytest.param(make_tree(pools=[make_pool(members=[make_member(id="-m")])]), id="member-id"),
        pytest.param(_tree_with_rule(make_rule(id="r1 TRUE")), id="rule-id"),
        pytest.param(make_tree(vip_address="203.0.113.10:80"), id="vip"),
    ],
)
def test_hostile_ids_and_addresses_raise(tree: LoadBalancerTree) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(tree)


def test_hostile_names_tags_and_unknown_headers_never_reach_config() -> None:
    hostile = "evil\nbackend x\n    server s 10.0.0.1:80 # '\"$HOME"
    tree = LoadBalancerTree.model_validate(
        {
            **make_tree().model_dump(),
            "name": hostile,
            "description": hostile,
            "tags": [hostile],
            "listeners": [
                {
                    **make_listener().model_dump(),
                    "name": hostile,
                    "tags": [hostile],
                    "insert_headers": {hostile: "true", "X-Forwarded-For": hostile},
                }
            ],
            "pools": [
                {
                    **make_pool().model_dump(),
                    "name": hostile,
                    "description": hostile,
                    "members": [{**make_member().model_dump(), "name": hostile, "tags": [hostile]}],
                }
            ],
        }
    )
    assert render(tree) == MINIMAL_HTTP_GOLDEN


# --- haproxy -c -------------------------------------------------------------------------------


def rich_tree() -> LoadBalancerTree:
    """One of everything the renderer supports, plus disabled and skipped objects."""
    all_rules = [
        make_rule(id="r-path-eq", compare_type="EQUAL_TO", value="/exact"),
        make_rule(id="r-path-beg", compare_type="STARTS_WITH", value="/api"),
        make_rule(id="r-path-end", compare_type="ENDS_WITH", value=".php", invert=True),
        make_rule(id="r-path-sub", compare_type="CONTAINS", value="admin"),
        make_rule(id="r-path-reg", compare_type="REGEX", value=r"^/v[0-9]+/"),
        make_rule(id="r-host", type="HOST_NAME", compare_type="EQUAL_TO", value="www.example.com"),
        make_rule(
            id="r-header", type="HEADER", compare_type="CONTAINS", key="User-Agent", value="curl 8"
        ),
        make_rule(
            id="r-cookie", type="COOKIE", compare_type="REGEX", key="beta", value="^(1|yes)$"
        ),
        make_rule(id="r-file", type="FILE_TYPE", compare_type="EQUAL_TO", value="jpg"),
        make_rule(id="r-file-reg", type="FILE_TYPE", compare_type="REGEX", value=r"\.(png|gif)$"),
        make_rule(id="r-cert", type="SSL_CONN_HAS_CERT", compare_type="EQUAL_TO", value="True"),
        make_rule(id="r-verify", type="SSL_VERIFY_RESULT", compare_type="EQUAL_TO", value="0"),
        make_rule(
            id="r-dn", type="SSL_DN_FIELD", compare_type="ENDS_WITH", key="CN", value=".example.com"
        ),
        make_rule(id="r-off", admin_state_up=False),
    ]
    policies = [
        make_policy(id="p-reject", action="REJECT", position=1, rules=all_rules[:5]),
        make_policy(
            id="p-url",
            action="REDIRECT_TO_URL",
            position=2,
            redirect_url="https://www.example.com/moved?x='y'#top",
            redirect_http_code=301,
            rules=all_rules[5:8],
        ),
        make_policy(
            id="p-prefix",
            action="REDIRECT_PREFIX",
            position=3,
            redirect_prefix="https://static.example.com",
            rules=all_rules[8:10],
        ),
        make_policy(
            id="p-pool",
            action="REDIRECT_TO_POOL",
            position=4,
            redirect_pool_id="pool-lc",
            rules=all_rules[10:],
        ),
        make_policy(
            id="p-off",
            action="REJECT",
            position=5,
            admin_state_up=False,
            rules=[make_rule(id="r-x")],
        ),
        make_policy(
            id="p-gone",
            action="REDIRECT_TO_POOL",
            position=6,
            redirect_pool_id="pool-off",
            rules=[make_rule(id="r-y")],
        ),
    ]
    listeners = [
        make_listener(
            id="listener-http",
            default_pool_id="pool-rr",
            connection_limit=5000,
            timeout_tcp_inspect=1000,
            allowed_cidrs=["198.51.100.0/24", "2001:db8::/32"],
            insert_headers={
                "X-Forwarded-For": "true",
                "X-Forwarded-Port": "true",
                "X-Forwarded-Proto": "true",
            },
            l7policies=policies,
        ),
        make_listener(
            id="listener-tcp",
            protocol="TCP",
            protocol_port=3306,
            default_pool_id="pool-src",
            timeout_tcp_inspect=0,
        ),
        make_listener(
            id="listener-https", protocol="HTTPS", protocol_port=443, default_pool_id="pool-hash"
        ),
        make_listener(
            id="listener-proxy", protocol="TCP", protocol_port=8443, default_pool_id="pool-v2"
        ),
        make_listener(
            id="listener-off", protocol_port=8080, admin_state_up=False, default_pool_id="pool-rr"
        ),
        make_listener(id="listener-tls", protocol="TERMINATED_HTTPS", protocol_port=8444),
        make_listener(id="listener-udp", protocol="UDP", protocol_port=53),
    ]
    members = [
        make_member(id="m-1"),
        make_member(id="m-2", address="2001:db8::21", weight=0),
        make_member(
            id="m-3",
            address="192.0.2.13",
            backup=True,
            monitor_address="2001:db8::99",
            monitor_port=9000,
        ),
        make_member(id="m-4", address="192.0.2.14", admin_state_up=False, weight=256),
    ]
    pools = [
        make_pool(
            id="pool-rr",
            session_persistence=SessionPersistencePayload(type="HTTP_COOKIE"),
            healthmonitor=make_monitor(
                type="HTTP",
                url_path="/health?full=1",
                expected_codes="200-204",
                http_version=1.1,
                domain_name="www.example.com",
            ),
            members=members,
        ),
        make_pool(
            id="pool-lc",
            protocol="PROXY",
            lb_algorithm="LEAST_CONNECTIONS",
            session_persistence=SessionPersistencePayload(
                type="APP_COOKIE", cookie_name="JSESSIONID", persistence_timeout=600
            ),
            healthmonitor=make_monitor(type="HTTPS", http_method="HEAD", expected_codes="200,202"),
            members=members,
        ),
        make_pool(
            id="pool-src",
            protocol="TCP",
            lb_algorithm="SOURCE_IP",
            session_persistence=SessionPersistencePayload(type="SOURCE_IP"),
            healthmonitor=make_monitor(type="TCP"),
            members=members,
        ),
        make_pool(
            id="pool-hash",
            protocol="HTTPS",
            lb_algorithm="SOURCE_IP_PORT",
            healthmonitor=make_monitor(type="TLS-HELLO"),
            members=members,
        ),
        make_pool(
            id="pool-v2",
            protocol="PROXYV2",
            healthmonitor=make_monitor(type="PING"),
            members=members,
        ),
        make_pool(
            id="pool-nohm",
            protocol="TCP",
            healthmonitor=make_monitor(admin_state_up=False),
            members=members,
        ),
        make_pool(id="pool-off", admin_state_up=False),
        make_pool(id="pool-udp", protocol="UDP", healthmonitor=make_monitor(type="UDP-CONNECT")),
    ]
    return make_tree(listeners=listeners, pools=pools)


def haproxy_check(config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert HAPROXY is not None
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    return subprocess.run(
        [HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True, timeout=60
    )


def render_for_check(tree: LoadBalancerTree, tmp_path: Path) -> str:
    (tmp_path / "servers.state").write_text("1\n")  # an empty state file: version line only
    paths = ConfigRuntimePaths(str(tmp_path / "haproxy.sock"), str(tmp_path / "servers.state"))
    return render_haproxy_config(tree, paths)


def test_rich_tree_renders_every_supported_section() -> None:
    headers = section_headers(render(rich_tree()))
    assert headers == [
        "global",
        "defaults",
        "frontend listener-http",
        "frontend listener-tcp",
        "frontend listener-https",
        "frontend listener-proxy",
        "backend pool-rr",
        "backend pool-lc",
        "backend pool-src",
        "backend pool-hash",
        "backend pool-v2",
        "backend pool-nohm",
    ]


@needs_haproxy
def test_haproxy_check_accepts_rich_tree_without_warnings(tmp_path: Path) -> None:
    result = haproxy_check(render_for_check(rich_tree(), tmp_path), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[WARNING]" not in output and "[ALERT]" not in output, output


@needs_haproxy
@pytest.mark.parametrize(
    "tree",
    [
        pytest.param(make_tree(), id="minimal"),
        pytest.param(make_tree(admin_state_up=False), id="lb-disabled"),
        pytest.param(make_tree(listeners=[], pools=[]), id="empty"),
        pytest.param(rich_tree().model_copy(update={"vip_address": "2001:db8::10"}), id="ipv6-vip"),
    ],
)
def test_haproxy_check_accepts_edge_trees(tree: LoadBalancerTree, tmp_path: Path) -> None:
    result = haproxy_check(render_for_check(tree, tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_haproxy
def test_haproxy_check_accepts_hostile_quoted_values(tmp_path: Path) -> None:
    rules = [
        make_rule(id=f"r-{i}-{kind}", type=kind, compare_type="EQUAL_TO", key="X#$Key", value=value)
        for i, value in enumerate(QUOTABLE)
        for kind in ("PATH", "HOST_NAME", "HEADER", "COOKIE")
    ]
    policies = [
        make_policy(id=f"p-{i}", rules=[rule], position=i) for i, rule in enumerate(rules)
    ] + [
        make_policy(
            id="p-url",
            action="REDIRECT_TO_URL",
            redirect_url="https://a.example/p?q='#x}$HOME%[src]",
            rules=[make_rule(id="r-url")],
        )
    ]
    pool = make_pool(
        session_persistence=SessionPersistencePayload(type="APP_COOKIE", cookie_name="S#I$D"),
        healthmonitor=make_monitor(type="HTTP", url_path="/a#b'c%[src]$HOME}"),
    )
    tree = make_tree(listeners=[make_listener(l7policies=policies)], pools=[pool])
    config = render_for_check(tree, tmp_path)
    result = haproxy_check(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert section_headers(config) == [
        "global",
        "defaults",
        "frontend listener-1",
        "backend pool-1",
    ]
