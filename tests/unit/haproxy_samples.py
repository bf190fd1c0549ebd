"""Sample load balancer trees and helpers shared by the HAProxy renderer tests
(``test_haproxy_render_*.py``).

Small factories with valid defaults (``make_tree(listeners=[make_listener(...)])``), the
renderer with fixed runtime paths (:func:`render`), helpers that cut a rendered config into
sections, the golden text of the minimal tree, and hostile strings.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import pytest

from lbaas.core.tree import (
    CertificateNode,
    HealthMonitorNode,
    L7PolicyNode,
    L7RuleNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
)
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.tls_files import TlsFiles, plan_tls_files
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from tests.tls_material import Authority

PATHS = ConfigRuntimePaths(
    stats_socket="/var/lib/lbaas/lbaas/lb-1/haproxy.sock",
    server_state_file="/var/lib/lbaas/lbaas/lb-1/servers.state",
)
HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")
CERTS_DIR = "/var/lib/lbaas/lbaas/lb-1/certs"


# --- sample factories -------------------------------------------------------------------------


def make_member(**overrides: Any) -> MemberNode:
    fields: dict[str, Any] = {"id": "member-1", "address": "192.0.2.11", "protocol_port": 8080}
    return MemberNode(**(fields | overrides))


def make_monitor(**overrides: Any) -> HealthMonitorNode:
    fields: dict[str, Any] = {
        "id": "hm-1",
        "type": "TCP",
        "delay": 5,
        "timeout": 3,
        "max_retries": 2,
    }
    return HealthMonitorNode(**(fields | overrides))


def make_pool(**overrides: Any) -> PoolNode:
    fields: dict[str, Any] = {
        "id": "pool-1",
        "protocol": "HTTP",
        "lb_algorithm": "ROUND_ROBIN",
        "members": [make_member()],
    }
    return PoolNode(**(fields | overrides))


def make_rule(**overrides: Any) -> L7RuleNode:
    fields: dict[str, Any] = {
        "id": "rule-1",
        "type": "PATH",
        "compare_type": "STARTS_WITH",
        "value": "/api",
    }
    return L7RuleNode(**(fields | overrides))


def make_policy(**overrides: Any) -> L7PolicyNode:
    fields: dict[str, Any] = {
        "id": "policy-1",
        "action": "REJECT",
        "position": 1,
        "rules": [make_rule()],
    }
    return L7PolicyNode(**(fields | overrides))


def make_listener(**overrides: Any) -> ListenerNode:
    fields: dict[str, Any] = {
        "id": "listener-1",
        "protocol": "HTTP",
        "protocol_port": 80,
        "default_pool_id": "pool-1",
    }
    return ListenerNode(**(fields | overrides))


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


def tls_plan(tree: LoadBalancerTree) -> TlsFiles:
    """The TLS files of ``tree`` planned in :data:`CERTS_DIR` (nothing is written)."""
    return plan_tls_files(tree, CERTS_DIR)


def render(tree: LoadBalancerTree) -> str:
    return render_haproxy_config(tree, PATHS, tls_files=tls_plan(tree))


# --- TLS material (made once per test session) ---------------------------------------------


@functools.cache
def sample_authority() -> Authority:
    return Authority.create("lbaas render test CA")


@functools.cache
def make_cert(cert_id: str = "cert-1", common_name: str = "www.example.com") -> CertificateNode:
    """A real certificate (signed by :func:`sample_authority`) with its key."""
    issued = sample_authority().issue(common_name)
    return CertificateNode(
        id=cert_id, certificate=issued.cert_pem + issued.chain_pem, private_key=issued.key_pem
    )


def make_tls_listener(**overrides: Any) -> ListenerNode:
    """A TERMINATED_HTTPS listener on 443 with a default certificate."""
    fields: dict[str, Any] = {"protocol": "TERMINATED_HTTPS", "protocol_port": 443,
                              "default_tls": make_cert()}
    return make_listener(**(fields | overrides))


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


def section_headers(config: str) -> list[str]:
    return [
        line for line in config.splitlines() if line and not line[0].isspace() and line[0] != "#"
    ]


def server_lines(config: str, pool_id: str = "pool-1") -> list[str]:
    return [line for line in section(config, f"backend {pool_id}") if line.startswith("server ")]


# --- golden text shared by several modules ----------------------------------------------

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


# --- hostile strings ------------------------------------------------------------------------

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
