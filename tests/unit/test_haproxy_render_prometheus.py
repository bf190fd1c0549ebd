"""PROMETHEUS listeners in haproxy.cfg (:mod:`lbaas.drivers.haproxy.view_metrics`): golden text,
what the client cannot change, and ``haproxy -c``."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from lbaas.core.tree import LoadBalancerTree
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.tls_files import plan_tls_files, write_tls_files
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from tests.unit.haproxy_samples import (
    CERTS_DIR,
    HAPROXY,
    PATHS,
    make_cert,
    make_listener,
    make_policy,
    make_tree,
    needs_haproxy,
    section,
    section_headers,
)

AGENT_SOCKET = "/var/lib/lbaas/prometheus-listeners/agent.sock"


def prometheus_tree(**overrides: object) -> LoadBalancerTree:
    listener = make_listener(
        id="listener-prom",
        protocol="PROMETHEUS",
        protocol_port=9100,
        connection_limit=100,
        allowed_cidrs=["198.51.100.0/24"],
        timeout_client_data=7000,
        timeout_member_connect=1000,
        timeout_member_data=3000,
        **overrides,
    )
    return make_tree(listeners=[make_listener(), listener])


def render(tree: LoadBalancerTree, socket: str | None = AGENT_SOCKET) -> str:
    return render_haproxy_config(tree, replace(PATHS, listener_metrics_socket=socket),
                                 tls_files=plan_tls_files(tree, CERTS_DIR))


def test_prometheus_listener_forwards_to_the_agent_with_its_settings() -> None:
    config = render(prometheus_tree())
    assert section(config, "frontend listener-prom") == [
        "mode http",
        "bind 203.0.113.10:9100",
        "maxconn 100",
        "timeout client 7000ms",
        "acl _allowed_cidrs src 198.51.100.0/24",
        "tcp-request connection reject if !_allowed_cidrs",
        "option idle-close-on-response",
        "http-request set-path /loadbalancers/lb-1",
        "default_backend lbaas_metrics_listener-prom",
    ]
    assert section(config, "backend lbaas_metrics_listener-prom", keep_state_line=True) == [
        "mode http",
        "timeout connect 1000ms",
        "timeout server 3000ms",
        "load-server-state-from-file none",
        f"server agent unix@'{AGENT_SOCKET}'",
    ]
    assert section_headers(config)[-2:] == ["backend pool-1", "backend lbaas_metrics_listener-prom"]


def test_prometheus_listener_never_routes_to_a_pool_or_runs_policies() -> None:
    """The API refuses both; a tree that has them anyway still only serves metrics."""
    tree = prometheus_tree(default_pool_id="pool-1",
                           l7policies=[make_policy(action="REDIRECT_TO_POOL",
                                                   redirect_pool_id="pool-1")])
    lines = section(render(tree), "frontend listener-prom")
    assert "default_backend pool-1" not in lines
    assert not [line for line in lines if line.startswith(("acl r", "use_backend"))]
    assert lines[-1] == "default_backend lbaas_metrics_listener-prom"


def test_prometheus_listener_with_a_certificate_serves_https() -> None:
    """As in Octavia: a PROMETHEUS listener given a certificate terminates TLS."""
    tree = prometheus_tree(default_tls=make_cert(), tls_versions=["TLSv1.3"])
    bind = section(render(tree), "frontend listener-prom")[1]
    assert bind.startswith("bind 203.0.113.10:9100 ssl crt-list '" + CERTS_DIR + "/listener-prom.")
    assert bind.endswith(".crt-list' ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3")


def test_disabled_prometheus_listener_renders_nothing() -> None:
    config = render(prometheus_tree(admin_state_up=False))
    assert "listener-prom" not in config


def test_prometheus_listener_needs_the_agent_socket() -> None:
    with pytest.raises(UnsafeConfigValue, match="agent's metrics socket"):
        render(prometheus_tree(), socket=None)


def test_hostile_agent_socket_path_is_refused() -> None:
    with pytest.raises(UnsafeConfigValue):
        render(prometheus_tree(), socket="/tmp/x\n    server evil 10.0.0.1:80")


@needs_haproxy
def test_haproxy_accepts_a_prometheus_listener(tmp_path: Path) -> None:
    assert HAPROXY is not None
    (tmp_path / "servers.state").write_text("1\n")
    paths = ConfigRuntimePaths(str(tmp_path / "haproxy.sock"), str(tmp_path / "servers.state"),
                               metrics_socket=str(tmp_path / "metrics.sock"),
                               listener_metrics_socket=str(tmp_path / "agent.sock"))
    tree = prometheus_tree(default_tls=make_cert())
    tls_files = plan_tls_files(tree, tmp_path / "certs")
    write_tls_files(tls_files)
    config = render_haproxy_config(tree, paths, tls_files=tls_files)
    (tmp_path / "haproxy.cfg").write_text(config)
    result = subprocess.run([HAPROXY, "-c", "-f", str(tmp_path / "haproxy.cfg")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "lbaas_metrics_listener-prom" in config
