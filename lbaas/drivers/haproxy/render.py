"""Pure renderer of haproxy.cfg (HAProxy 2.6) for one load balancer.

Called by the HAProxy driver's process manager, which writes the text to ``haproxy.cfg.new``,
checks it with ``haproxy -c`` and reloads (STYLE.md point 10). No file or network I/O happens here.

Two steps, as in Octavia's ``jinja_cfg``: :func:`build_view` turns the tree into plain dicts that
hold only validated values (ids, numbers, HAProxy keywords, and tenant strings that passed their
grammar check in :mod:`.escaping`), then ``templates/base.j2`` and ``macros.j2`` lay them out,
quoting tenant strings with the ``q`` filter. Names, descriptions and tags never reach the view.
Anything that cannot be rendered safely raises :class:`.escaping.UnsafeConfigValue`.

Behaviour worth knowing:

* Listeners HTTP, TCP and HTTPS (TLS passthrough, ``mode tcp``) are served; TERMINATED_HTTPS,
  UDP, SCTP and PROMETHEUS listeners and UDP/SCTP pools are skipped without output. Disabled
  objects, objects in PENDING_DELETE and every frontend of a disabled load balancer are left out
  (the stats socket keeps a config without frontends valid and running).
* HAProxy runs a frontend's rules by directive, not by line, so L7 policies act as in Octavia:
  REJECT first, then REDIRECT_TO_URL/REDIRECT_PREFIX, then REDIRECT_TO_POOL, each group in
  position order. Policies without enabled rules, and pool redirects to a pool that is not
  rendered, are skipped.
* A backend is ``mode http`` when its pool is HTTP or an HTTP listener uses it (HAProxy refuses
  an HTTP frontend in front of a TCP backend); its timeouts are the largest of its listeners'.
* PING monitors become TCP connect checks (HAProxy cannot send ICMP); UDP-CONNECT and SCTP
  monitors render no check. Cookie persistence is only rendered in ``mode http`` backends.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from lbaas.core.tree import (
    HealthMonitorNode,
    L7PolicyNode,
    L7RuleNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
    SessionPersistenceNode,
)
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue

__all__ = ["HaproxyPaths", "UnsafeConfigValue", "build_view", "render_haproxy_config"]

View = dict[str, Any]

# Cap of the global maxconn, and the maxconn of an unlimited frontend. HAProxy needs about two
# file descriptors per connection and refuses to start when the hard RLIMIT_NOFILE is lower
# (8000 fits the 20000 of a default container; haproxy -c does not notice).
DEFAULT_MAX_CONNECTIONS = 8000
MIN_GLOBAL_MAXCONN = 1000
HARD_STOP_AFTER = "2m"  # how long an old worker may drain connections after a reload
DEFAULT_TIMEOUT_CONNECT_MS = 5000
DEFAULT_TIMEOUT_DATA_MS = 50000
DEFAULT_TIMEOUT_CHECK_MS = 5000
DEFAULT_PERSISTENCE_TIMEOUT_S = 1800
MAX_TIMEOUT_MS = 2**31 - 1  # HAProxy's timer limit (~24.8 days)
MAX_RULES_PER_POLICY = 50  # HAProxy reads at most 64 words per line
CIDRS_PER_LINE = 32
PENDING_DELETE = "PENDING_DELETE"

LISTENER_MODES = {"HTTP": "http", "TCP": "tcp", "HTTPS": "tcp"}
SKIPPED_LISTENER_PROTOCOLS = frozenset({"TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"})
POOL_PROTOCOLS = frozenset({"HTTP", "HTTPS", "TCP", "PROXY", "PROXYV2"})
SKIPPED_POOL_PROTOCOLS = frozenset({"UDP", "SCTP"})
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
MATCH_METHODS = {
    "EQUAL_TO": "str",
    "STARTS_WITH": "beg",
    "ENDS_WITH": "end",
    "CONTAINS": "sub",
    "REGEX": "reg",
}
POLICY_ORDER = {"REJECT": 0, "REDIRECT_TO_URL": 1, "REDIRECT_PREFIX": 1, "REDIRECT_TO_POOL": 2}
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
DEFAULT_REDIRECT_CODE = 302
TRUE_STRINGS = frozenset({"1", "t", "true", "on", "y", "yes"})  # as oslo's bool_from_string


@dataclass(frozen=True)
class HaproxyPaths:
    """Runtime files of one load balancer's HAProxy, chosen by the process manager."""

    stats_socket: str  # absolute path of the admin stats socket (at most 107 bytes)
    server_state_file: str  # absolute path of the file `show servers state` is saved to


def render_haproxy_config(
    tree: LoadBalancerTree,
    paths: HaproxyPaths,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> str:
    """Return the text of haproxy.cfg for ``tree``.

    ``max_connections`` caps the process-wide ``maxconn`` and is the limit of listeners whose
    connection_limit is unlimited. Raises :class:`UnsafeConfigValue` when a value cannot be
    written safely.
    """
    view = build_view(tree, paths, max_connections=max_connections)
    return _environment().get_template("base.j2").render(view=view)


def build_view(
    tree: LoadBalancerTree,
    paths: HaproxyPaths,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> View:
    """Transform ``tree`` into the plain, validated dicts the templates render."""
    esc.int_in_range(max_connections, 1, 2**31 - 1, "max_connections")
    lb_id = esc.config_id(tree.id, "load balancer id")
    vip = esc.ip_address(tree.vip_address, "VIP address")
    pools = _rendered_pools(tree.pools)
    listeners = _served_listeners(tree)
    _check_unique((listener.protocol_port for listener in listeners), "listener protocol_port")
    frontends = [
        _transform_listener(listener, vip, pools, max_connections) for listener in listeners
    ]
    _check_unique((frontend["id"] for frontend in frontends), "listener id")
    backends = [
        _transform_pool(pool, _listeners_using(pool.id, listeners, pools), vip)
        for pool in pools.values()
    ]
    view = {
        "global": _transform_global(lb_id, paths, frontends, max_connections),
        "defaults": {
            "timeout_connect": DEFAULT_TIMEOUT_CONNECT_MS,
            "timeout_data": DEFAULT_TIMEOUT_DATA_MS,
            "timeout_check": DEFAULT_TIMEOUT_CHECK_MS,
        },
        "frontends": frontends,
        "backends": backends,
    }
    _refuse_control_chars_in(view, "view")
    return view


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["q"] = esc.quote
    return env


def _refuse_control_chars_in(value: object, where: str) -> None:
    """Defence in depth: no string anywhere in the view may hold a line break."""
    if isinstance(value, str):
        esc.refuse_control_chars(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_control_chars_in(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _refuse_control_chars_in(item, where)


def _check_unique(values: Iterable[object], what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise UnsafeConfigValue(f"duplicate {what}: {value!r}")
        seen.add(value)


def _timeout_ms(value: int, what: str) -> int:
    return esc.int_in_range(value, 0, MAX_TIMEOUT_MS, f"{what} (ms)")


# --- selection --------------------------------------------------------------------------------


def _rendered_pools(pools: Iterable[PoolNode]) -> dict[str, PoolNode]:
    """Pools that get a backend, by id: supported protocol, enabled, not being deleted."""
    rendered: dict[str, PoolNode] = {}
    for pool in pools:
        if pool.protocol in SKIPPED_POOL_PROTOCOLS:
            continue
        if pool.protocol not in POOL_PROTOCOLS:
            raise UnsafeConfigValue(f"pool {pool.id!r} has unknown protocol {pool.protocol!r}")
        pool_id = esc.config_id(pool.id, "pool id")
        if pool_id in rendered:
            raise UnsafeConfigValue(f"duplicate pool id: {pool_id!r}")
        if pool.admin_state_up and pool.provisioning_status != PENDING_DELETE:
            rendered[pool_id] = pool
    return rendered


def _served_listeners(tree: LoadBalancerTree) -> list[ListenerNode]:
    """Listeners that get a frontend; none at all when the load balancer is disabled."""
    served = []
    for listener in tree.listeners:
        if listener.protocol in SKIPPED_LISTENER_PROTOCOLS:
            continue
        if listener.protocol not in LISTENER_MODES:
            raise UnsafeConfigValue(
                f"listener {listener.id!r} has unknown protocol {listener.protocol!r}"
            )
        if listener.admin_state_up and listener.provisioning_status != PENDING_DELETE:
            served.append(listener)
    return served if tree.admin_state_up else []


def _enabled_rules(policy: L7PolicyNode) -> list[L7RuleNode]:
    return [rule for rule in policy.rules if rule.admin_state_up]


def _active_policies(
    listener: ListenerNode, pools: dict[str, PoolNode]
) -> list[L7PolicyNode]:
    """The listener's policies that take effect, in HAProxy's evaluation order."""
    if LISTENER_MODES[listener.protocol] != "http":
        return []
    for policy in listener.l7policies:
        if policy.action not in POLICY_ORDER:
            raise UnsafeConfigValue(f"L7 policy {policy.id!r} has unknown action {policy.action!r}")
    active = [
        policy
        for policy in listener.l7policies
        if policy.admin_state_up
        and _enabled_rules(policy)
        and (policy.action != "REDIRECT_TO_POOL" or policy.redirect_pool_id in pools)
    ]
    return sorted(active, key=lambda policy: (POLICY_ORDER[policy.action], policy.position))


def _default_pool_id(listener: ListenerNode, pools: dict[str, PoolNode]) -> str | None:
    return listener.default_pool_id if listener.default_pool_id in pools else None


def _listeners_using(
    pool_id: str, listeners: Iterable[ListenerNode], pools: dict[str, PoolNode]
) -> list[ListenerNode]:
    """Served listeners whose frontend routes to ``pool_id`` (by default or by L7 policy)."""
    return [
        listener
        for listener in listeners
        if _default_pool_id(listener, pools) == pool_id
        or any(p.redirect_pool_id == pool_id for p in _active_policies(listener, pools))
    ]


# --- global and frontends -------------------------------------------------------------------


def _transform_global(
    lb_id: str, paths: HaproxyPaths, frontends: list[View], max_connections: int
) -> View:
    wanted = sum(frontend["maxconn"] for frontend in frontends)
    return {
        "lb_id": lb_id,
        "maxconn": min(max_connections, max(MIN_GLOBAL_MAXCONN, wanted)),
        "hard_stop_after": HARD_STOP_AFTER,
        "stats_socket": esc.runtime_path(
            paths.stats_socket, "stats socket path", esc.MAX_UNIX_SOCKET_PATH
        ),
        "server_state_file": esc.runtime_path(paths.server_state_file, "server state file"),
    }


def _transform_listener(
    listener: ListenerNode,
    vip: esc.IPAddress,
    pools: dict[str, PoolNode],
    max_connections: int,
) -> View:
    mode = LISTENER_MODES[listener.protocol]
    port = esc.int_in_range(listener.protocol_port, 1, 65535, "listener protocol_port")
    limit = esc.int_in_range(listener.connection_limit, -1, 2**31 - 1, "connection_limit")
    headers = _enabled_headers(listener.insert_headers) if mode == "http" else set()
    policies = _active_policies(listener, pools)
    acls = [_transform_rule(rule) for policy in policies for rule in _enabled_rules(policy)]
    _check_unique((acl["id"] for acl in acls), f"L7 rule id in listener {listener.id!r}")
    cidrs = list(dict.fromkeys(esc.cidr(value) for value in listener.allowed_cidrs))
    return {
        "id": esc.config_id(listener.id, "listener id"),
        "mode": mode,
        "bind": esc.format_host_port(vip, port),
        "maxconn": limit if limit > 0 else max_connections,  # 0 and -1 mean unlimited
        "timeout_client": _timeout_ms(listener.timeout_client_data, "timeout_client_data"),
        "inspect_delay": _timeout_ms(listener.timeout_tcp_inspect, "timeout_tcp_inspect"),
        "allowed_cidrs": list(_iter_chunks(cidrs, CIDRS_PER_LINE)),
        "forwarded_for": "x-forwarded-for" in headers,
        "forwarded_port": "x-forwarded-port" in headers,
        "forwarded_proto": "x-forwarded-proto" in headers,
        "acls": acls,
        "policies": [_transform_policy(policy) for policy in policies],
        "default_backend": _default_pool_id(listener, pools),
    }


def _enabled_headers(insert_headers: dict[str, str]) -> set[str]:
    """Lower-cased names of the insert_headers whose value is true-ish; unknown ones are unused."""
    return {
        name.lower()
        for name, value in insert_headers.items()
        if isinstance(value, str) and value.strip().lower() in TRUE_STRINGS
    }


def _transform_policy(policy: L7PolicyNode) -> View:
    rules = _enabled_rules(policy)
    if len(rules) > MAX_RULES_PER_POLICY:
        raise UnsafeConfigValue(
            f"L7 policy {policy.id!r} has {len(rules)} rules; at most {MAX_RULES_PER_POLICY}"
        )
    target: str | None = None
    code: int | None = None
    if policy.action == "REDIRECT_TO_POOL":
        target = policy.redirect_pool_id
    elif policy.action in ("REDIRECT_TO_URL", "REDIRECT_PREFIX"):
        url = policy.redirect_url if policy.action == "REDIRECT_TO_URL" else policy.redirect_prefix
        target = esc.redirect_target(url, f"redirect target of L7 policy {policy.id!r}")
        code = policy.redirect_http_code or DEFAULT_REDIRECT_CODE
        if code not in REDIRECT_CODES:
            raise UnsafeConfigValue(
                f"redirect_http_code must be one of {sorted(REDIRECT_CODES)}, got {code!r}"
            )
    return {
        "action": policy.action,
        "target": target,
        "code": code,
        "rules": [{"id": rule.id, "invert": bool(rule.invert)} for rule in rules],
    }


def _transform_rule(rule: L7RuleNode) -> View:
    """One named ACL: ``acl <id> <fetch>[(<key>)] <flags> -- <value>``."""
    rule_id = esc.config_id(rule.id, "L7 rule id")
    method = MATCH_METHODS.get(rule.compare_type)
    if method is None:
        raise UnsafeConfigValue(
            f"L7 rule {rule_id!r} has unknown compare_type {rule.compare_type!r}"
        )
    value: str | None = _rule_value(rule, rule_id)
    fetch, key, flags = _rule_fetch(rule, rule_id, method)
    if rule.type == "FILE_TYPE" and method == "str":
        value = rule.value if rule.value.startswith(".") else f".{rule.value}"
    elif rule.type == "SSL_CONN_HAS_CERT":
        value = None  # a boolean fetch: the ACL has no pattern
    elif rule.type == "SSL_VERIFY_RESULT":
        if not rule.value.isascii() or not rule.value.isdigit():
            raise UnsafeConfigValue(f"L7 rule {rule_id!r}: SSL verify result must be an integer")
        value = str(int(rule.value))
    return {"id": rule_id, "fetch": fetch, "key": key, "flags": flags, "value": value}


def _rule_value(rule: L7RuleNode, rule_id: str) -> str:
    if rule.compare_type == "REGEX":
        return esc.regex(rule.value, f"value of L7 rule {rule_id!r}")
    if not isinstance(rule.value, str) or not rule.value:
        raise UnsafeConfigValue(f"L7 rule {rule_id!r} needs a non-empty value")
    return esc.refuse_control_chars(rule.value, f"value of L7 rule {rule_id!r}")


def _rule_fetch(
    rule: L7RuleNode, rule_id: str, method: str
) -> tuple[str, str | None, list[str]]:
    """Return (sample fetch, its argument, ACL flags) for ``rule``."""
    match_flags = ["-m", method]
    if rule.type == "PATH":
        return "path", None, match_flags
    if rule.type == "HOST_NAME":
        return "req.hdr", "host", ["-i", *match_flags]
    if rule.type == "HEADER":
        return (
            "req.hdr",
            esc.http_token(rule.key, f"header name of L7 rule {rule_id!r}"),
            match_flags,
        )
    if rule.type == "COOKIE":
        return (
            "req.cook",
            esc.http_token(rule.key, f"cookie name of L7 rule {rule_id!r}"),
            match_flags,
        )
    if rule.type == "FILE_TYPE" and method in ("str", "reg"):
        return "path", None, ["-m", "end" if method == "str" else "reg"]
    if rule.type in ("SSL_CONN_HAS_CERT", "SSL_VERIFY_RESULT") and method == "str":
        return ("ssl_c_used" if rule.type == "SSL_CONN_HAS_CERT" else "ssl_c_verify"), None, []
    if rule.type == "SSL_DN_FIELD":
        return "ssl_c_s_dn", esc.dn_field(rule.key), match_flags
    raise UnsafeConfigValue(
        f"L7 rule {rule_id!r}: type {rule.type!r} with compare_type {rule.compare_type!r}"
        " is not supported"
    )


# --- backends ---------------------------------------------------------------------------------


def _transform_pool(
    pool: PoolNode, listeners: list[ListenerNode], vip: esc.IPAddress
) -> View:
    balance = BALANCE.get(pool.lb_algorithm)
    if balance is None:
        raise UnsafeConfigValue(f"pool {pool.id!r} has unknown lb_algorithm {pool.lb_algorithm!r}")
    http_users = any(LISTENER_MODES[listener.protocol] == "http" for listener in listeners)
    mode = "http" if pool.protocol == "HTTP" or http_users else "tcp"
    members = [member for member in pool.members if member.provisioning_status != PENDING_DELETE]
    servers = [_transform_member(member) for member in members]
    _check_unique((server["id"] for server in servers), f"member id in pool {pool.id!r}")
    return {
        "id": pool.id,
        "mode": mode,
        "balance": balance,
        "timeout_connect": max(
            (_timeout_ms(li.timeout_member_connect, "timeout_member_connect") for li in listeners),
            default=DEFAULT_TIMEOUT_CONNECT_MS,
        ),
        "timeout_server": max(
            (_timeout_ms(li.timeout_member_data, "timeout_member_data") for li in listeners),
            default=DEFAULT_TIMEOUT_DATA_MS,
        ),
        "persistence": _transform_persistence(pool.session_persistence, mode, vip),
        "monitor": _transform_monitor(pool.healthmonitor),
        "send_proxy": SEND_PROXY.get(pool.protocol),
        "servers": servers,
    }


def _transform_persistence(
    persistence: SessionPersistenceNode | None, mode: str, vip: esc.IPAddress
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
    }


def _transform_monitor(monitor: HealthMonitorNode | None) -> View | None:
    if monitor is None:
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


def _iter_chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
