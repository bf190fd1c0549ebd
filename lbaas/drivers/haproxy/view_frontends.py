"""The frontend sections of the view: one per served listener, with its L7 policies as ACLs.

Part of the view builder (:func:`lbaas.drivers.haproxy.view.build_view`); which listeners and
policies are served, and in which order, is decided in :mod:`.view_selection`. Only validated
values leave this module (:mod:`.escaping`): ids, numbers, HAProxy keywords (sample fetches, match
methods) and tenant strings that passed their grammar check, which the templates quote.

Each enabled rule of an active policy becomes one named ACL
(``acl <rule id> <fetch>[(<key>)] <flags> -- <value>``); a policy refers to its rules by name.
Only ``mode http`` frontends get insert_headers and L7 policies.

A TERMINATED_HTTPS listener's frontend (``mode http``) binds with ``ssl crt-list <file>``, the
files planned by :mod:`.tls_files`; with client authentication OPTIONAL or MANDATORY also
``ca-file <file> verify optional|required`` (and ``crl-file``); then ``ciphers``, the version
range and ``alpn`` (:mod:`.view_tls`). It alone gets the ``X-SSL-*`` insert_headers (the sample
fetches Octavia sets them from) and the ``Strict-Transport-Security`` header, set on answers to
TLS connections only.
"""

from __future__ import annotations

from collections.abc import Iterator

from lbaas.core.tree import L7PolicyNode, L7RuleNode, ListenerNode, PoolNode
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy import view_tls
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.tls_files import CLIENT_AUTH_VERIFY, TlsFiles
from lbaas.drivers.haproxy.view_selection import (
    LISTENER_MODES,
    View,
    active_policies,
    default_pool_id,
    enabled_rules,
    terminates_tls,
)

__all__ = ["transform_listener"]

MAX_RULES_PER_POLICY = 50  # HAProxy reads at most 64 words per line
CIDRS_PER_LINE = 32
MATCH_METHODS = {
    "EQUAL_TO": "str",
    "STARTS_WITH": "beg",
    "ENDS_WITH": "end",
    "CONTAINS": "sub",
    "REGEX": "reg",
}
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
DEFAULT_REDIRECT_CODE = 302
TRUE_STRINGS = frozenset({"1", "t", "true", "on", "y", "yes"})  # as oslo's bool_from_string
SSL_HEADERS = {
    "X-SSL-Client-Verify": "%[ssl_c_verify]",
    "X-SSL-Client-Has-Cert": "%[ssl_c_used]",
    "X-SSL-Client-DN": "%{+Q}[ssl_c_s_dn]",
    "X-SSL-Client-CN": "%{+Q}[ssl_c_s_dn(cn)]",
    "X-SSL-Issuer": "%{+Q}[ssl_c_i_dn]",
    "X-SSL-Client-SHA1": "%{+Q}[ssl_c_sha1,hex]",
    "X-SSL-Client-Not-Before": "%{+Q}[ssl_c_notbefore]",
    "X-SSL-Client-Not-After": "%{+Q}[ssl_c_notafter]",
}
"""The TLS insert_headers of a TERMINATED_HTTPS listener and their values (Octavia's fetches)."""


def transform_listener(
    listener: ListenerNode,
    vip: esc.IPAddress,
    pools: dict[str, PoolNode],
    max_connections: int,
    tls_files: TlsFiles | None = None,
) -> View:
    """The frontend of a served ``listener`` bound to ``vip``; ``pools`` are the rendered ones,
    ``tls_files`` the load balancer's planned TLS files (needed by TERMINATED_HTTPS)."""
    mode = LISTENER_MODES[listener.protocol]
    port = esc.int_in_range(listener.protocol_port, 1, 65535, "listener protocol_port")
    limit = esc.int_in_range(listener.connection_limit, -1, 2**31 - 1, "connection_limit")
    headers = _enabled_headers(listener.insert_headers) if mode == "http" else set()
    policies = active_policies(listener, pools)
    acls = [_transform_rule(rule) for policy in policies for rule in enabled_rules(policy)]
    esc.check_unique((acl["id"] for acl in acls), f"L7 rule id in listener {listener.id!r}")
    cidrs = list(dict.fromkeys(esc.cidr(value) for value in listener.allowed_cidrs))
    terminated = terminates_tls(listener)
    return {
        "id": esc.config_id(listener.id, "listener id"),
        "mode": mode,
        "bind": esc.format_host_port(vip, port),
        "maxconn": limit if limit > 0 else max_connections,  # 0 and -1 mean unlimited
        "timeout_client": esc.timeout_ms(listener.timeout_client_data, "timeout_client_data"),
        "inspect_delay": esc.timeout_ms(listener.timeout_tcp_inspect, "timeout_tcp_inspect"),
        "allowed_cidrs": list(_iter_chunks(cidrs, CIDRS_PER_LINE)),
        "forwarded_for": "x-forwarded-for" in headers,
        "forwarded_port": "x-forwarded-port" in headers,
        "forwarded_proto": "x-forwarded-proto" in headers,
        "ssl_headers": [
            {"name": name, "value": value}
            for name, value in SSL_HEADERS.items()
            if terminated and name.lower() in headers
        ],
        "tls": _transform_tls(listener, tls_files) if terminated else None,
        "hsts": _hsts(listener) if terminated else None,
        "acls": acls,
        "policies": [_transform_policy(policy) for policy in policies],
        "default_backend": default_pool_id(listener, pools),
        "metrics": None,  # a PROMETHEUS listener's, set by view_metrics
    }


def _transform_tls(listener: ListenerNode, tls_files: TlsFiles | None) -> View:
    """The TLS options of a TERMINATED_HTTPS listener's ``bind`` line."""
    what = f"listener {listener.id!r}"
    files = None if tls_files is None else tls_files.listeners.get(listener.id)
    if files is None:
        raise UnsafeConfigValue(f"{what} is TERMINATED_HTTPS but has no planned certificate files")
    verify = CLIENT_AUTH_VERIFY.get(listener.client_authentication)
    if verify is not None and files.client_ca is None:
        raise UnsafeConfigValue(f"{what} authenticates clients but has no client CA file")
    return {
        "crt_list": esc.runtime_path(files.crt_list, f"crt-list of {what}"),
        "ca_file": None if verify is None else esc.runtime_path(files.client_ca, "client CA file"),
        "verify": verify,
        "crl_file": (
            esc.runtime_path(files.client_crl, "client CRL file")
            if verify is not None and files.client_crl is not None
            else None
        ),
        "ciphers": view_tls.ciphers(listener.tls_ciphers, what),
        "versions": view_tls.version_options(listener.tls_versions, what),
        "alpn": view_tls.alpn(listener.alpn_protocols, what),
    }


def _hsts(listener: ListenerNode) -> str | None:
    """The Strict-Transport-Security value, or None when the listener sets none."""
    if listener.hsts_max_age is None:
        return None
    max_age = esc.int_in_range(listener.hsts_max_age, 0, 2**31 - 1, "hsts_max_age")
    directives = [f"max-age={max_age}"]
    if listener.hsts_include_subdomains:
        directives.append("includeSubDomains")
    if listener.hsts_preload:
        directives.append("preload")
    return "; ".join(directives)


def _enabled_headers(insert_headers: dict[str, str]) -> set[str]:
    """Lower-cased names of the insert_headers whose value is true-ish; unknown ones are unused."""
    return {
        name.lower()
        for name, value in insert_headers.items()
        if isinstance(value, str) and value.strip().lower() in TRUE_STRINGS
    }


def _transform_policy(policy: L7PolicyNode) -> View:
    rules = enabled_rules(policy)
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


def _iter_chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
