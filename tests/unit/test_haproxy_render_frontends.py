"""Frontend sections: listeners, and L7 policies and rules as ACLs
(:mod:`lbaas.drivers.haproxy.view_frontends` and :mod:`lbaas.drivers.haproxy.view_selection`).
"""

from __future__ import annotations

from typing import Any

import pytest

from lbaas.core.tree import (
    L7PolicyNode,
    L7RuleNode,
    PoolNode,
)
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from tests.unit.haproxy_samples import (
    MINIMAL_HTTP_GOLDEN,
    make_listener,
    make_policy,
    make_pool,
    make_rule,
    make_tree,
    render,
    section,
    section_headers,
)

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


@pytest.mark.parametrize("protocol", ["UDP", "SCTP"])
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
    policies: list[L7PolicyNode], pools: list[PoolNode] | None = None
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
def test_l7_rule_type_renders_acl(rule: L7RuleNode, acl: str) -> None:
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


def test_l7_policies_and_rules_being_deleted_are_skipped() -> None:
    """Deleting a policy or rule is applied by rendering without it: the server removes the
    row once the agent reports, without a new revision the agent would refresh for."""
    policies = [
        make_policy(id="p1", provisioning_status="PENDING_DELETE", rules=[make_rule(id="r1")]),
        make_policy(id="p4", rules=[make_rule(id="r4"),
                                    make_rule(id="r5", provisioning_status="PENDING_DELETE")]),
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
