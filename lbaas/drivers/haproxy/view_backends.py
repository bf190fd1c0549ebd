"""The backend sections of the view: one per rendered pool, with its members, health monitor and
session persistence.

Part of the view builder (:func:`lbaas.drivers.haproxy.view.build_view`); which pools are rendered
and which listeners use them is decided in :mod:`.view_selection`. Only validated values leave
this module (:mod:`.escaping`).

* A backend is ``mode http`` when its pool is HTTP or an HTTP listener uses it (HAProxy refuses
  an HTTP frontend in front of a TCP backend); its timeouts are the largest of its listeners'.
* PING monitors become TCP connect checks (HAProxy cannot send ICMP); UDP-CONNECT and SCTP
  monitors render no check. Cookie persistence is only rendered in ``mode http`` backends.
* Members in PENDING_DELETE are left out; disabled members stay, as ``disabled`` servers.
* ``lbaas:slow_start`` is each server's ``slowstart``; ``lbaas:drain_timeout`` is a comment line
  of the backend that the agent reads when it removes or drains a member at runtime
  (:mod:`.runtime_plan`): haproxy has no setting for it.
* The stick table of SOURCE_IP and APP_COOKIE persistence names the ``peers`` section of an
  ACTIVE_STANDBY pair, when there is one (:mod:`.view`).
* A pool with ``tls_enabled`` re-encrypts: its server lines carry ``ssl``, ``verify required
  ca-file <file>`` (and ``crl-file``) when it has a CA, ``verify none`` otherwise, ``crt <file>``
  with a client certificate (files planned by :mod:`.tls_files`), ``ciphers``, the version range
  and ``alpn`` (:mod:`.view_tls`). Its HTTP, HTTPS, TCP and PING checks say ``check-ssl``: over
  TLS, verified as the traffic is, also when ``addr``/``port`` send them elsewhere (haproxy
  drops TLS from checks sent elsewhere unless told). A TLS-HELLO check says ``no-check-ssl``:
  it writes its own ClientHello on a plain connection. An HTTPS check of a plain pool stays
  ``check-ssl verify none`` (as Octavia).
"""

from __future__ import annotations

from lbaas.core.tree import (
    HealthMonitorNode,
    ListenerNode,
    MemberNode,
    PoolNode,
    SessionPersistenceNode,
)
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy import view_tls
from lbaas.drivers.haproxy.escaping import MAX_TIMEOUT_MS, UnsafeConfigValue
from lbaas.drivers.haproxy.tls_files import TlsFiles
from lbaas.drivers.haproxy.view_selection import LISTENER_MODES, PENDING_DELETE, View

__all__ = ["DEFAULT_TIMEOUT_CONNECT_MS", "DEFAULT_TIMEOUT_DATA_MS", "transform_pool"]

DEFAULT_TIMEOUT_CONNECT_MS = 5000
DEFAULT_TIMEOUT_DATA_MS = 50000
DEFAULT_PERSISTENCE_TIMEOUT_S = 1800
SEND_PROXY = {"PROXY": "send-proxy", "PROXYV2": "send-proxy-v2"}
BALANCE = {
    "ROUND_ROBIN": "roundrobin",
    "LEAST_CONNECTIONS": "leastconn",
    "SOURCE_IP": "source",
    "SOURCE_IP_PORT": "hash",  # the template hashes "src:src_port" through a variable
}
PERSISTENCE_TYPES = frozenset({"SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"})
MONITOR_TYPES = frozenset({"HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"})
UNCHECKED_MONITOR_TYPES = frozenset({"UDP-CONNECT", "SCTP"})
HTTP_VERSIONS = {None: "1.0", 1.0: "1.0", 1.1: "1.1"}


def _pool_server_options(pool: PoolNode, listeners: list[ListenerNode]) -> list[str]:
    """Keywords every server line of the pool carries (HAProxy keywords and numbers only).
    A PROXYV2 pool behind a TERMINATED_HTTPS listener also tells its members the TLS facts
    and the client certificate's CN (``send-proxy-v2-ssl-cn``, as Octavia)."""
    options = []
    send_proxy = SEND_PROXY.get(pool.protocol)
    if send_proxy == "send-proxy-v2" and any(
        listener.protocol == "TERMINATED_HTTPS" for listener in listeners
    ):
        send_proxy = "send-proxy-v2-ssl-cn"
    if send_proxy is not None:
        options.append(send_proxy)
    return options


def transform_pool(
    pool: PoolNode,
    listeners: list[ListenerNode],
    vip: esc.IPAddress,
    *,
    peers: str | None = None,
    tls_files: TlsFiles | None = None,
) -> View:
    """The backend of a rendered ``pool``; ``listeners`` are the served ones that route to it.
    ``peers``: the name of the ``peers`` section its stick table is shared through, if any;
    ``tls_files``: the load balancer's planned TLS files (needed by a pool with tls_enabled)."""
    balance = BALANCE.get(pool.lb_algorithm)
    if balance is None:
        raise UnsafeConfigValue(f"pool {pool.id!r} has unknown lb_algorithm {pool.lb_algorithm!r}")
    http_users = any(LISTENER_MODES[listener.protocol] == "http" for listener in listeners)
    mode = "http" if pool.protocol == "HTTP" or http_users else "tcp"
    members = [member for member in pool.members if member.provisioning_status != PENDING_DELETE]
    servers = [_transform_member(member) for member in members]
    esc.check_unique((server["id"] for server in servers), f"member id in pool {pool.id!r}")
    return {
        "id": pool.id,
        "mode": mode,
        "balance": balance,
        "timeout_connect": max(
            (
                esc.timeout_ms(li.timeout_member_connect, "timeout_member_connect")
                for li in listeners
            ),
            default=DEFAULT_TIMEOUT_CONNECT_MS,
        ),
        "timeout_server": max(
            (esc.timeout_ms(li.timeout_member_data, "timeout_member_data") for li in listeners),
            default=DEFAULT_TIMEOUT_DATA_MS,
        ),
        "persistence": _transform_persistence(pool.session_persistence, mode, vip, peers),
        "monitor": _transform_monitor(pool.healthmonitor, pool.tls_enabled),
        "server_options": _pool_server_options(pool, listeners),
        "slow_start": esc.int_in_range(pool.slow_start, 0, 3600, "pool slow_start"),
        "drain_timeout": esc.int_in_range(pool.drain_timeout, 0, 3600, "pool drain_timeout"),
        "tls": _transform_tls(pool, tls_files) if pool.tls_enabled else None,
        "servers": servers,
    }


def _transform_persistence(
    persistence: SessionPersistenceNode | None,
    mode: str,
    vip: esc.IPAddress,
    peers: str | None,
) -> View | None:
    if persistence is None:
        return None
    if persistence.type not in PERSISTENCE_TYPES:
        raise UnsafeConfigValue(f"unknown session persistence type {persistence.type!r}")
    if persistence.type != "SOURCE_IP" and mode != "http":
        return None  # cookies only exist in HTTP
    expire = esc.int_in_range(
        persistence.persistence_timeout or DEFAULT_PERSISTENCE_TIMEOUT_S,
        1,
        MAX_TIMEOUT_MS // 1000,
        "persistence_timeout (s)",
    )
    cookie_name = None
    if persistence.type == "APP_COOKIE":
        cookie_name = esc.http_token(persistence.cookie_name, "session persistence cookie_name")
    return {
        "type": persistence.type,
        "expire": expire,
        "table_type": "ipv6" if vip.version == 6 else "ip",
        "cookie_name": cookie_name,
        "peers": None if peers is None else esc.config_id(peers, "peers section name"),
    }


def _transform_tls(pool: PoolNode, tls_files: TlsFiles | None) -> View:
    """The TLS options of a re-encrypting pool's server lines."""
    what = f"pool {pool.id!r}"
    files = None if tls_files is None else tls_files.pools.get(pool.id)
    if files is None:
        raise UnsafeConfigValue(f"{what} has tls_enabled but no planned TLS files")
    return {
        "ca_file": None if files.ca is None else esc.runtime_path(files.ca, f"CA file of {what}"),
        "crl_file": (
            None if files.ca is None or files.crl is None
            else esc.runtime_path(files.crl, f"CRL file of {what}")
        ),
        "crt": (
            None if files.client_cert is None
            else esc.runtime_path(files.client_cert, f"client certificate of {what}")
        ),
        "ciphers": view_tls.ciphers(pool.tls_ciphers, what),
        "versions": view_tls.version_options(pool.tls_versions, what),
        "alpn": view_tls.alpn(pool.alpn_protocols, what),
    }


def _check_ssl(monitor_type: str, tls_enabled: bool) -> str | None:
    """The TLS keywords of a check (see the module's docstring)."""
    if tls_enabled:
        return "no-check-ssl" if monitor_type == "TLS-HELLO" else "check-ssl"
    return "check-ssl verify none" if monitor_type == "HTTPS" else None


def _transform_monitor(monitor: HealthMonitorNode | None, tls_enabled: bool) -> View | None:
    if monitor is None or monitor.provisioning_status == PENDING_DELETE:
        return None
    if monitor.type not in MONITOR_TYPES:
        raise UnsafeConfigValue(f"health monitor {monitor.id!r} has unknown type {monitor.type!r}")
    if not monitor.admin_state_up or monitor.type in UNCHECKED_MONITOR_TYPES:
        return None
    return {
        "type": monitor.type,
        "inter": esc.int_in_range(monitor.delay, 1, MAX_TIMEOUT_MS // 1000, "monitor delay (s)"),
        "timeout": esc.int_in_range(
            monitor.timeout, 1, MAX_TIMEOUT_MS // 1000, "monitor timeout (s)"
        ),
        "rise": esc.int_in_range(monitor.max_retries, 1, 10, "monitor max_retries"),
        "fall": esc.int_in_range(monitor.max_retries_down, 1, 10, "monitor max_retries_down"),
        "http": _transform_http_check(monitor) if monitor.type in ("HTTP", "HTTPS") else None,
        "ssl": _check_ssl(monitor.type, tls_enabled),
    }


def _transform_http_check(monitor: HealthMonitorNode) -> View:
    version = HTTP_VERSIONS.get(monitor.http_version)
    if version is None:
        raise UnsafeConfigValue(f"http_version must be 1.0 or 1.1, got {monitor.http_version!r}")
    return {
        "method": esc.http_method(monitor.http_method or "GET"),
        "path": esc.url_path(monitor.url_path or "/"),
        "version": version,
        "host": esc.domain_name(monitor.domain_name) if monitor.domain_name else None,
        "expect": esc.expected_codes(monitor.expected_codes or "200"),
    }


def _transform_member(member: MemberNode) -> View:
    address = esc.ip_address(member.address, f"address of member {member.id!r}")
    port = esc.int_in_range(member.protocol_port, 1, 65535, "member protocol_port")
    monitor_address = None
    if member.monitor_address:
        monitor_ip = esc.ip_address(member.monitor_address, "member monitor_address")
        monitor_address = esc.format_host(monitor_ip)
    monitor_port = None
    if member.monitor_port is not None:
        monitor_port = esc.int_in_range(member.monitor_port, 1, 65535, "member monitor_port")
    return {
        "id": esc.config_id(member.id, "member id"),
        "address": esc.format_host_port(address, port),
        "weight": esc.int_in_range(member.weight, 0, 256, "member weight"),
        "backup": bool(member.backup),
        "disabled": not member.admin_state_up,
        "monitor_address": monitor_address,
        "monitor_port": monitor_port,
    }
