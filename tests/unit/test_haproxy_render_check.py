"""``haproxy -c`` on rendered configs, when the haproxy binary is installed (no network
namespace needed: ``-c`` does not bind).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lbaas.core.tree import (
    LoadBalancerTree,
    SessionPersistenceNode,
)
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.tls_files import plan_tls_files, write_tls_files
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from tests.unit.haproxy_samples import (
    HAPROXY,
    QUOTABLE,
    make_cert,
    make_listener,
    make_member,
    make_monitor,
    make_policy,
    make_pool,
    make_rule,
    make_tls_listener,
    make_tree,
    needs_haproxy,
    render,
    sample_authority,
    section_headers,
)


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
        make_tls_listener(
            id="listener-tls",
            protocol_port=8444,
            default_pool_id="pool-tls",
            sni_tls=[make_cert("cert-sni", "api.example.com")],
            client_authentication="MANDATORY",
            client_ca=sample_authority().cert_pem,
            client_crl=sample_authority().crl_pem(),
            tls_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
            tls_versions=["TLSv1.2", "TLSv1.3"],
            alpn_protocols=["h2", "http/1.1"],
            hsts_max_age=31536000,
            hsts_include_subdomains=True,
            hsts_preload=True,
            insert_headers={"X-Forwarded-Proto": "true", "X-SSL-Client-Verify": "true",
                            "X-SSL-Client-DN": "true", "X-SSL-Client-SHA1": "true"},
            l7policies=[make_policy(id="p-tls", rules=all_rules[10:13])],
        ),
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
            session_persistence=SessionPersistenceNode(type="HTTP_COOKIE"),
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
            session_persistence=SessionPersistenceNode(
                type="APP_COOKIE", cookie_name="JSESSIONID", persistence_timeout=600
            ),
            healthmonitor=make_monitor(type="HTTPS", http_method="HEAD", expected_codes="200,202"),
            members=members,
        ),
        make_pool(
            id="pool-src",
            protocol="TCP",
            lb_algorithm="SOURCE_IP",
            session_persistence=SessionPersistenceNode(type="SOURCE_IP"),
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
        make_pool(
            id="pool-tls",
            healthmonitor=make_monitor(type="HTTP"),
            members=members,
            tls_enabled=True,
            ca_certificate=sample_authority().cert_pem,
            crl=sample_authority().crl_pem(),
            tls_certificate=make_cert("cert-client", "lbaas client"),
            tls_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256",
            tls_versions=["TLSv1.2"],
            alpn_protocols=["http/1.1"],
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
    tls_files = plan_tls_files(tree, tmp_path / "certs")
    write_tls_files(tls_files)
    return render_haproxy_config(tree, paths, tls_files=tls_files)


def test_rich_tree_renders_every_supported_section() -> None:
    headers = section_headers(render(rich_tree()))
    assert headers == [
        "global",
        "defaults",
        "frontend listener-http",
        "frontend listener-tcp",
        "frontend listener-https",
        "frontend listener-proxy",
        "frontend listener-tls",
        "backend pool-rr",
        "backend pool-lc",
        "backend pool-src",
        "backend pool-hash",
        "backend pool-v2",
        "backend pool-nohm",
        "backend pool-tls",
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
        session_persistence=SessionPersistenceNode(type="APP_COOKIE", cookie_name="S#I$D"),
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


@pytest.mark.parametrize(("delay", "timeout"), [(2, 3), (1, 60)])
def test_monitor_timeout_longer_than_delay_is_rendered_as_given(
    delay: int, timeout: int, tmp_path: Path
) -> None:
    """Octavia accepts a monitor timeout above its delay; so does HAProxy: ``inter`` is the
    delay between checks and ``timeout check`` bounds each check (a slow check delays the next
    one, checks never overlap)."""
    pool = make_pool(healthmonitor=make_monitor(type="HTTP", delay=delay, timeout=timeout))
    config = render_for_check(make_tree(pools=[pool]), tmp_path)
    backend = config[config.index("backend pool-1"):]
    assert f"    timeout check {timeout}s\n" in backend
    assert f" check inter {delay}s fall " in backend
    if HAPROXY is not None:
        result = haproxy_check(config, tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "[WARNING]" not in output and "[ALERT]" not in output, output
