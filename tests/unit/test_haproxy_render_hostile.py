"""Hostile input: tenant strings that try to add lines or change a line's meaning are quoted
harmlessly or refused (:mod:`lbaas.drivers.haproxy.escaping`); names, tags and unknown headers
never reach the config.
"""

from __future__ import annotations

import pytest

from lbaas.core.tree import (
    HealthMonitorNode,
    L7RuleNode,
    LoadBalancerTree,
    SessionPersistenceNode,
)
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue, quote
from tests.unit.haproxy_samples import (
    INJECTIONS,
    MINIMAL_HTTP_GOLDEN,
    QUOTABLE,
    make_listener,
    make_member,
    make_monitor,
    make_policy,
    make_pool,
    make_rule,
    make_tree,
    render,
    section_headers,
)


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


def _tree_with_rule(rule: L7RuleNode) -> LoadBalancerTree:
    return make_tree(listeners=[make_listener(l7policies=[make_policy(rules=[rule])])])


@pytest.mark.parametrize("value", QUOTABLE)
@pytest.mark.parametrize("rule_type", ["PATH", "HOST_NAME", "HEADER", "COOKIE", "SSL_DN_FIELD"])
def test_hostile_l7_value_is_quoted_harmlessly(rule_type: str, value: str) -> None:
    def rule(v: str) -> L7RuleNode:
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
def test_hostile_monitor_fields_raise(monitor: HealthMonitorNode) -> None:
    with pytest.raises(UnsafeConfigValue):
        render(make_tree(pools=[make_pool(healthmonitor=monitor)]))


@pytest.mark.parametrize("cookie_name", ["SID x", "SID)", "SID,x", "SID'", "SID\n", "", "SÏD"])
def test_hostile_app_cookie_name_raises(cookie_name: str) -> None:
    persistence = SessionPersistenceNode(type="APP_COOKIE", cookie_name=cookie_name)
    with pytest.raises(UnsafeConfigValue, match="cookie_name"):
        render(make_tree(pools=[make_pool(session_persistence=persistence)]))


def test_hostile_app_cookie_name_with_token_characters_is_quoted() -> None:
    persistence = SessionPersistenceNode(type="APP_COOKIE", cookie_name="S#I$D")
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
