"""Validation that needs more than one object: protocol compatibility, per-LB uniqueness, and the
rules between a listener, its pools and their monitors. Raises 400/409 with a precise message."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from lbaas.core.errors import Conflict, InvalidInput
from lbaas.schemas.pool import DRAIN_TIMEOUT, SLOW_START

# Listener protocol -> pool protocols it may forward to (Octavia's matrix).
COMPATIBLE_POOL_PROTOCOLS: dict[str, tuple[str, ...]] = {
    "HTTP": ("HTTP", "PROXY", "PROXYV2"),
    "HTTPS": ("HTTPS", "PROXY", "PROXYV2", "TCP"),
    "TCP": ("HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"),
    "TERMINATED_HTTPS": ("HTTP", "PROXY", "PROXYV2"),
    "UDP": ("UDP",),
    "SCTP": ("SCTP",),
    "PROMETHEUS": (),
}
UDP_LIKE = ("UDP", "SCTP")
CHILDLESS_LISTENER_PROTOCOLS = ("PROMETHEUS",)
L7_LISTENER_PROTOCOLS = ("HTTP", "TERMINATED_HTTPS")
COOKIE_POOL_PROTOCOLS = ("HTTP", "HTTPS")
HEADER_LISTENER_PROTOCOLS = ("HTTP", "TERMINATED_HTTPS")
TLS_LISTENER_FIELDS = ("default_tls_container_ref", "sni_container_refs",
                       "client_ca_tls_container_ref", "client_crl_container_ref", "tls_ciphers",
                       "tls_versions", "alpn_protocols", "hsts_max_age")


def terminates_tls(protocol: str, values: Any) -> bool:
    """TERMINATED_HTTPS, or (as in Octavia) a PROMETHEUS listener given a certificate: its
    metrics then go over HTTPS. ``values``: the listener's attributes (a mapping or an object)."""
    if protocol == "TERMINATED_HTTPS":
        return True
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name, None)
    return protocol == "PROMETHEUS" and bool(get("default_tls_container_ref")
                                             or get("sni_container_refs"))


def protocol_kind(protocol: str) -> str:
    """Listeners of different kinds (stream vs datagram) may share a port number."""
    return "udp" if protocol == "UDP" else "sctp" if protocol == "SCTP" else "tcp"


def check_listener_children(listener_protocol: str) -> None:
    """Octavia's rule: a PROMETHEUS listener has no default pool, pools or L7 policies."""
    if listener_protocol in CHILDLESS_LISTENER_PROTOCOLS:
        raise InvalidInput(f"Protocol {listener_protocol} listeners cannot have child objects.")


def check_listener_pool(listener_protocol: str, pool_protocol: str, pool_id: str = "") -> None:
    check_listener_children(listener_protocol)
    allowed = COMPATIBLE_POOL_PROTOCOLS.get(listener_protocol, ())
    if pool_protocol not in allowed:
        what = f"Pool {pool_id} " if pool_id else "A pool "
        raise InvalidInput(f"{what}with protocol {pool_protocol} cannot be used by a "
                           f"{listener_protocol} listener; allowed pool protocols: "
                           f"{', '.join(allowed) or 'none'}.")


def check_listener_fields(protocol: str, values: dict[str, object], vip_address: str | None
                          ) -> None:
    """Per-protocol rules of a listener's attributes.

    The ``timeout_*`` attributes are accepted on UDP and SCTP listeners although none applies
    to them: Octavia stores and shows them, and clients send them (docs/compatibility.md)."""
    headers: dict[str, Any] = dict(values.get("insert_headers") or {})  # type: ignore[call-overload]
    if headers and protocol not in HEADER_LISTENER_PROTOCOLS:
        raise InvalidInput(f"insert_headers are not supported on {protocol} listeners; they "
                           "need HTTP or TERMINATED_HTTPS.")
    ssl_headers = [h for h in headers if str(h).startswith("X-SSL-")]
    if ssl_headers and protocol != "TERMINATED_HTTPS":
        raise InvalidInput(f"{', '.join(ssl_headers)} can only be inserted by TERMINATED_HTTPS "
                           "listeners.")
    if not terminates_tls(protocol, values):  # what TLS needs: lbaas.services.tls
        given = [f for f in TLS_LISTENER_FIELDS if values.get(f)]
        if values.get("client_authentication") not in (None, "NONE"):
            given.append("client_authentication")
        if given:
            where = ("PROMETHEUS listeners without a certificate" if protocol == "PROMETHEUS"
                     else protocol)
            raise InvalidInput(f"{', '.join(given)} may only be set on TERMINATED_HTTPS "
                               f"listeners, not on {where}.")
    cidrs: list[Any] = list(values.get("allowed_cidrs") or [])  # type: ignore[call-overload]
    if cidrs and vip_address:
        version = ipaddress.ip_address(vip_address).version
        for cidr in cidrs:
            if ipaddress.ip_network(str(cidr)).version != version:
                raise InvalidInput(f"allowed_cidrs entry {cidr} is not of the VIP's IP version "
                                   f"(IPv{version}).")


def check_port_free(protocol: str, port: int,
                    existing: Iterable[tuple[str, int, str]], lb_id: str) -> None:
    """409 when another listener of the same kind on the LB uses ``port``."""
    for other_protocol, other_port, other_id in existing:
        if other_port == port and protocol_kind(other_protocol) == protocol_kind(protocol):
            raise Conflict(f"Another Listener ({other_id}) on Load Balancer {lb_id} is already "
                           f"using protocol_port {port}.")


def check_pool_fields(protocol: str, session_persistence: dict[str, object] | None) -> None:
    if session_persistence:
        kind = session_persistence.get("type")
        if kind in ("HTTP_COOKIE", "APP_COOKIE") and protocol not in COOKIE_POOL_PROTOCOLS:
            raise InvalidInput(f"Session persistence {kind} needs an HTTP or HTTPS pool, not "
                               f"{protocol}.")


DYNAMIC_ALGORITHMS = ("ROUND_ROBIN", "LEAST_CONNECTIONS")
"""The algorithms whose members haproxy changes at runtime and whose weights it can ramp."""


def check_pool_ramps(algorithm: str, drain_timeout: int | None, slow_start: int | None) -> None:
    """A drain timeout or a slow start needs a ROUND_ROBIN or LEAST_CONNECTIONS pool: haproxy
    balances SOURCE_IP and SOURCE_IP_PORT through a static map, where it ramps no weight and
    changes members by reloading (the agent cuts drains only at runtime)."""
    for name, value in ((DRAIN_TIMEOUT, drain_timeout), (SLOW_START, slow_start)):
        if value and algorithm not in DYNAMIC_ALGORITHMS:
            raise InvalidInput(f"{name} needs a pool balanced by ROUND_ROBIN or "
                               f"LEAST_CONNECTIONS, not {algorithm}.")


def check_monitor_for_pool(hm_type: str, pool_protocol: str) -> None:
    if hm_type == "UDP-CONNECT" and pool_protocol != "UDP":
        raise InvalidInput("UDP-CONNECT health monitors are only for UDP pools.")
    if hm_type == "SCTP" and pool_protocol not in ("SCTP", "UDP"):
        raise InvalidInput("SCTP health monitors are only for SCTP and UDP pools.")
    if pool_protocol in UDP_LIKE and hm_type in ("HTTPS", "TLS-HELLO"):
        raise InvalidInput(f"{hm_type} health monitors cannot check {pool_protocol} pools.")


def check_l7_listener(protocol: str) -> None:
    check_listener_children(protocol)
    if protocol not in L7_LISTENER_PROTOCOLS:
        raise InvalidInput(f"L7 policies can only be attached to HTTP or TERMINATED_HTTPS "
                           f"listeners, not {protocol}.")
