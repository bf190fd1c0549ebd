"""The TLS settings both sides of haproxy share: protocol versions, ALPN and cipher strings,
validated and turned into HAProxy 2.6 keywords.

Used by the frontend view (:mod:`.view_frontends`: a TERMINATED_HTTPS listener's ``bind`` line)
and the backend view (:mod:`.view_backends`: the ``server`` lines of a pool with
``tls_enabled``). Only HAProxy keywords and strings that passed :mod:`.escaping` leave here.

TLS versions: OpenSSL (and so haproxy) accepts one contiguous range of versions, from
``ssl-min-ver`` to ``ssl-max-ver``; the ``no-tlsv1x`` flags cannot make a hole in it (haproxy
2.6 warns and fills the hole, accepting the version the flags left out). An allowed set with a
hole (``TLSv1`` and ``TLSv1.2``, not ``TLSv1.1``) is rendered as its highest contiguous run
(``TLSv1.2`` only): never a version the tenant did not allow, at the cost of the lower ones.
"""

from __future__ import annotations

from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue

__all__ = ["alpn", "ciphers", "version_options"]

TLS_VERSIONS = {
    "SSLv3": "SSLv3",
    "TLSv1": "TLSv1.0",
    "TLSv1.1": "TLSv1.1",
    "TLSv1.2": "TLSv1.2",
    "TLSv1.3": "TLSv1.3",
}
"""Octavia's tls_versions values, lowest first -> HAProxy's ssl-min-ver/ssl-max-ver names."""
ALPN_PROTOCOLS = frozenset({"h2", "http/1.1", "http/1.0"})


def version_options(versions: list[str], what: str) -> list[str]:
    """``["ssl-min-ver", <low>, "ssl-max-ver", <high>]`` for the allowed ``versions`` (their
    highest contiguous run); no keyword at all (haproxy's defaults) when none is given."""
    if not versions:
        return []
    unknown = [version for version in versions if version not in TLS_VERSIONS]
    if unknown:
        raise UnsafeConfigValue(
            f"{what} tls_versions must be among {list(TLS_VERSIONS)}, got {unknown!r}"
        )
    order = list(TLS_VERSIONS)
    allowed = {order.index(version) for version in versions}
    high = low = max(allowed)
    while low - 1 in allowed:
        low -= 1
    return ["ssl-min-ver", TLS_VERSIONS[order[low]], "ssl-max-ver", TLS_VERSIONS[order[high]]]


def alpn(protocols: list[str], what: str) -> str | None:
    """The ``alpn`` argument (``h2,http/1.1``) in the given order; None when none is given."""
    unknown = [protocol for protocol in protocols if protocol not in ALPN_PROTOCOLS]
    if unknown:
        raise UnsafeConfigValue(
            f"{what} alpn_protocols must be among {sorted(ALPN_PROTOCOLS)}, got {unknown!r}"
        )
    return ",".join(dict.fromkeys(protocols)) or None


def ciphers(value: str | None, what: str) -> str | None:
    """The ``ciphers`` argument (checked character by character); None when none is given."""
    if value is None or value == "":
        return None
    return esc.tls_ciphers(value, f"{what} tls_ciphers")
