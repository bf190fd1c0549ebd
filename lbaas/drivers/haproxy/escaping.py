"""Validation and quoting of every value the HAProxy renderer writes into haproxy.cfg.

Called by the view builders (:mod:`lbaas.drivers.haproxy.view` and the ``view_*`` modules it
uses); :func:`quote` is also the ``q`` Jinja filter of :mod:`lbaas.drivers.haproxy.render`. The
rule it enforces: no tenant-supplied string can add a line to haproxy.cfg or change the meaning of
the line it is on.

* Identifiers (ids) are checked against a strict character set and written bare (section, server
  and ACL names). Names, descriptions and tags never reach the config at all.
* Numbers and enums are range-checked and mapped to HAProxy keywords by the view builders.
* Tenant strings that must reach the config (URL paths, cookie and header names, L7 values,
  redirect targets) are checked against their own grammar, then written with :func:`quote`.

HAProxy 2.6 parses a config line in two levels, and :func:`quote` covers the first one: inside
single quotes ("strong quoting") nothing is interpreted, neither ``#`` nor ``$VAR`` nor ``\\``; a
single quote itself is written as ``'\\''`` (close, escaped quote, reopen), and adjacent quoted
parts join into one word. The second level (arguments of sample fetches such as
``req.hdr(<name>)``) treats ``'``, ``"``, ``\\``, ``,`` and ``)`` specially, so names used there
are restricted to HTTP token characters without ``'``. Control characters (newlines above all)
are refused everywhere. Every check raises :class:`UnsafeConfigValue`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "UnsafeConfigValue",
    "check_unique",
    "cidr",
    "config_id",
    "dn_field",
    "domain_name",
    "expected_codes",
    "file_stem",
    "format_host",
    "format_host_port",
    "http_method",
    "http_token",
    "int_in_range",
    "ip_address",
    "quote",
    "redirect_target",
    "refuse_control_chars",
    "regex",
    "runtime_path",
    "timeout_ms",
    "tls_ciphers",
    "url_path",
]

MAX_UNIX_SOCKET_PATH = 107  # sun_path is 108 bytes including the terminating NUL
MAX_TIMEOUT_MS = 2**31 - 1  # HAProxy's timer limit (~24.8 days)

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# RFC 9110 token characters, minus "'" (a quote in a sample-fetch argument breaks HAProxy's parser).
_TOKEN_RE = re.compile(r"[A-Za-z0-9!#$%&*+.^_`|~-]{1,256}")
_DN_FIELD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,63}")
_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_STATUS_RE = re.compile(r"[1-5][0-9][0-9]")
_VISIBLE_ASCII_RE = re.compile(r"[\x21-\x7e]+")
# OpenSSL cipher strings: names, ``:`` separators, ``+ ! -`` operators, ``@SECLEVEL=n``.
_CIPHERS_RE = re.compile(r"[A-Za-z0-9_:+!@=.-]{1,2048}")
_HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}
)
# Control characters, surrogates, and Unicode line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeConfigValue(ValueError):
    """A value that cannot be written into haproxy.cfg without changing its meaning."""


def _show(value: object) -> str:
    """Return a short, printable rendering of ``value`` for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def refuse_control_chars(value: str, what: str) -> str:
    """Return ``value`` unchanged if it has no control or line-separator characters."""
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise UnsafeConfigValue(
                f"{what} contains a control character ({char!r}): {_show(value)}"
            )
    return value


def quote(value: object) -> str:
    """Quote ``value`` as exactly one HAProxy config word (the Jinja ``q`` filter).

    Refuses empty strings (HAProxy reads an empty word as the end of the arguments) and control
    characters; everything else, including spaces, ``#``, ``$``, ``\\`` and quotes, is literal.
    """
    if not isinstance(value, str):
        raise UnsafeConfigValue(f"only strings can be quoted, got {_show(value)}")
    if not value:
        raise UnsafeConfigValue("an empty string cannot be written as a config word")
    refuse_control_chars(value, "config value")
    return "'" + value.replace("'", "'\\''") + "'"


def config_id(value: object, what: str) -> str:
    """Return ``value`` if it is safe as a bare section, server or ACL name (ids such as UUIDs)."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise UnsafeConfigValue(
            f"{what} must be 1-128 characters of [A-Za-z0-9_.-] starting with a letter or digit,"
            f" got {_show(value)}"
        )
    return value


def int_in_range(value: object, low: int, high: int, what: str) -> int:
    """Return ``value`` if it is an int (not a bool) with ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UnsafeConfigValue(f"{what} must be an integer in [{low}, {high}], got {_show(value)}")
    return value


def timeout_ms(value: int, what: str) -> int:
    """Return ``value`` if it is a timeout in milliseconds HAProxy's timers can hold."""
    return int_in_range(value, 0, MAX_TIMEOUT_MS, f"{what} (ms)")


def check_unique(values: Iterable[object], what: str) -> None:
    """Refuse a repeated value among ``values`` (section, server and ACL names, bound ports)."""
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise UnsafeConfigValue(f"duplicate {what}: {value!r}")
        seen.add(value)


def ip_address(value: object, what: str) -> IPAddress:
    """Parse ``value`` as an IPv4 or IPv6 address (no host names, no zone ids).

    Python's parser takes anything after a ``%`` as an IPv6 zone id and keeps it in ``str()``
    (``fd00::1%x]:1 backup #`` is an "address"), so a ``%`` is refused before parsing.
    """
    if not isinstance(value, str) or "%" in value:
        raise UnsafeConfigValue(f"{what} must be an IP address, got {_show(value)}")
    try:
        return ipaddress.ip_address(value)
    except ValueError as exc:
        raise UnsafeConfigValue(f"{what} must be an IP address, got {_show(value)}") from exc


def format_host(address: IPAddress) -> str:
    """Format an address for HAProxy: IPv6 in brackets (``addr 2001:db8::1`` would parse as
    ``2001:db8:`` port 1)."""
    return f"[{address}]" if address.version == 6 else str(address)


def format_host_port(address: IPAddress, port: int) -> str:
    """Format ``address:port`` for ``bind`` and ``server`` lines."""
    return f"{format_host(address)}:{port}"


def cidr(value: object) -> str:
    """Return the normalized form of a CIDR (``10.0.0.1/8`` -> ``10.0.0.0/8``, ``fd00::1/64`` ->
    ``fd00::/64``); a zone id (``fd00::%x or ::/64``, kept by Python's ``str()``) is refused."""
    if not isinstance(value, str) or "%" in value:
        raise UnsafeConfigValue(f"allowed CIDR must be a string, got {_show(value)}")
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError as exc:
        raise UnsafeConfigValue(f"allowed CIDR is not a valid network: {_show(value)}") from exc


def http_token(value: object, what: str) -> str:
    """Return ``value`` if it is an HTTP token (header or cookie name) safe in a fetch argument."""
    if not isinstance(value, str) or not _TOKEN_RE.fullmatch(value):
        raise UnsafeConfigValue(
            f"{what} must be 1-256 HTTP token characters ([A-Za-z0-9!#$%&*+.^_`|~-]),"
            f" got {_show(value)}"
        )
    return value


def dn_field(value: object) -> str:
    """Return ``value`` if it is a distinguished-name field name (``CN``, ``OU``, ``2.5.4.3``)."""
    if not isinstance(value, str) or not _DN_FIELD_RE.fullmatch(value):
        raise UnsafeConfigValue(f"DN field name must match [A-Za-z0-9.-]+, got {_show(value)}")
    return value


def http_method(value: object) -> str:
    """Return ``value`` if it is one of the HTTP methods a health monitor may use."""
    if not isinstance(value, str) or value not in _HTTP_METHODS:
        raise UnsafeConfigValue(
            f"HTTP method must be one of {sorted(_HTTP_METHODS)}, got {_show(value)}"
        )
    return value


def url_path(value: object) -> str:
    """Return ``value`` if it is a health-check URL path: ``/`` then visible ASCII only."""
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or not _VISIBLE_ASCII_RE.fullmatch(value)
        or len(value) > 2048
    ):
        raise UnsafeConfigValue(
            f"URL path must start with '/' and hold only visible ASCII characters (no spaces),"
            f" got {_show(value)}"
        )
    return value


def domain_name(value: object) -> str:
    """Return ``value`` if it is a DNS host name (used in a log-format ``Host`` header)."""
    if not isinstance(value, str) or not 0 < len(value.rstrip(".")) <= 253:
        raise UnsafeConfigValue(f"domain name must be a DNS host name, got {_show(value)}")
    if not all(_LABEL_RE.fullmatch(label) for label in value.rstrip(".").split(".")):
        raise UnsafeConfigValue(f"domain name must be a DNS host name, got {_show(value)}")
    return value


def expected_codes(value: object) -> str:
    """Normalize expected HTTP codes: ``200``, ``200,202``, ``200-204`` or mixes of them.

    The result is written as ``http-check expect status <codes>``, which HAProxy 2.6 reads as a
    comma-separated list of codes and ranges.
    """
    if not isinstance(value, str):
        raise UnsafeConfigValue(f"expected codes must be a string, got {_show(value)}")
    parts: list[str] = []
    for item in value.split(","):
        low, dash, high = item.strip().partition("-")
        if not _STATUS_RE.fullmatch(low) or (dash and not _STATUS_RE.fullmatch(high)):
            raise UnsafeConfigValue(
                f"expected codes must be HTTP status codes such as '200', '200,202' or"
                f" '200-204', got {_show(value)}"
            )
        if high and int(high) < int(low):
            raise UnsafeConfigValue(f"expected codes range is reversed: {_show(value)}")
        parts.append(f"{low}-{high}" if high else low)
    return ",".join(parts)


def redirect_target(value: object, what: str) -> str:
    """Return ``value`` if it is an absolute http(s) URL of visible ASCII characters."""
    if not isinstance(value, str) or not _VISIBLE_ASCII_RE.fullmatch(value) or len(value) > 2048:
        raise UnsafeConfigValue(
            f"{what} must be an absolute http(s) URL without spaces, got {_show(value)}"
        )
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise UnsafeConfigValue(f"{what} is not a valid URL: {_show(value)}") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UnsafeConfigValue(f"{what} must be an absolute http(s) URL, got {_show(value)}")
    return value


def regex(value: object, what: str) -> str:
    """Return ``value`` if it compiles as a regular expression (Python's dialect approximates
    HAProxy's PCRE; ``haproxy -c`` remains the final judge)."""
    if not isinstance(value, str) or not value:
        raise UnsafeConfigValue(f"{what} must be a non-empty regular expression")
    refuse_control_chars(value, what)
    try:
        re.compile(value)
    except re.error as exc:
        raise UnsafeConfigValue(f"{what} is not a valid regular expression: {exc}") from exc
    return value


def runtime_path(value: object, what: str, max_len: int = 4096) -> str:
    """Return ``value`` if it is an absolute file path without control characters."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise UnsafeConfigValue(f"{what} must be an absolute path, got {_show(value)}")
    refuse_control_chars(value, what)
    if len(value.encode()) > max_len:
        raise UnsafeConfigValue(f"{what} is longer than {max_len} bytes: {_show(value)}")
    return value


def file_stem(value: object, what: str) -> str:
    """Return ``value`` if it may start a file name the agent writes: an id (:func:`config_id`)
    without ``..`` (so never ``.``, ``..`` or a path: no ``/`` can pass either)."""
    stem = config_id(value, what)
    if ".." in stem:
        raise UnsafeConfigValue(f"{what} must not contain '..', got {_show(value)}")
    return stem


def tls_ciphers(value: object, what: str) -> str:
    """Return ``value`` if it is an OpenSSL cipher string: letters, digits and ``-_:+!@=.``
    only (no spaces: another keyword cannot follow it on the line)."""
    if not isinstance(value, str) or not _CIPHERS_RE.fullmatch(value):
        raise UnsafeConfigValue(
            f"{what} must be 1-2048 characters of [A-Za-z0-9-_:+!@=.], got {_show(value)}"
        )
    return value
