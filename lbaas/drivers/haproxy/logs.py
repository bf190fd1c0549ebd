"""What haproxy logs to its agent, and how the agent reads it back.

haproxy.cfg (:mod:`.view`, :mod:`.render`) writes every load balancer's logs in RFC 5424, with
the load balancer id as their tag (``log-tag``), into an in-memory ``ring`` (:data:`RING_NAME`)
that haproxy forwards over one stream connection to the agent's UNIX socket
(:func:`log_socket_path`), each message framed by its length (RFC 6587 octet counting,
:mod:`lbaas.agent.access_logs.framing`). Writing into the ring never blocks: when the agent
falls behind, haproxy drops lines and later says how many. Two kinds of messages arrive:

* **access lines**, one per request (``mode http``) or connection (``mode tcp``), in the formats
  :data:`HTTP_FORMAT` and :data:`TCP_FORMAT` defined here. Each starts with a fixed marker
  (``lbaas-access-v1 http|tcp``) that no client can produce, and puts the strings a client
  chooses (method, path, version, TLS client DN) last, quoted and escaped by haproxy (``+Q,+E``);
  :func:`parse_access` turns a line into a record of the field catalogue :data:`FIELDS`;
* **haproxy's own events**; :func:`parse_member_event` picks out health-check transitions
  (``Server <pool>/<member> is UP|DOWN, reason: ...``), :func:`parse_dropped` the ring's count
  of the lines it dropped.

Each request also gets a unique id (:data:`UNIQUE_ID_FORMAT`), sent to the member in
:data:`REQUEST_ID_HEADER` and logged as ``request_id``.

Pure: no I/O. The agent's receiver (:mod:`lbaas.agent.access_logs.receiver`) calls the parsers;
the view builder the formats.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "FIELDS",
    "HTTP_FORMAT",
    "MAX_LINE",
    "REQUEST_ID_HEADER",
    "RING_NAME",
    "RING_SIZE",
    "RING_TIMEOUT_SERVER",
    "TCP_FORMAT",
    "UNIQUE_ID_FORMAT",
    "MemberEvent",
    "SyslogMessage",
    "log_socket_path",
    "parse_access",
    "parse_dropped",
    "parse_member_event",
    "parse_syslog",
    "select_fields",
]

MARKER = "lbaas-access-v1"
RING_NAME = "lbaas-log"
MAX_LINE = 8192
"""Longest message haproxy keeps (``maxlen``, header included; longer ones are cut)."""
RING_SIZE = 512 * 1024
"""Bytes of haproxy's log ring: ~1,700 access lines, 70 ms at 25,000 requests/s."""
RING_TIMEOUT_SERVER = "30s"
"""haproxy closes a connection the agent has not read from for this long, and connects
again (the ring keeps its place)."""
REQUEST_ID_HEADER = "X-Request-ID"
UNIQUE_ID_FORMAT = "%{+X}o %ci:%cp_%fi:%fp_%Ts_%rt:%pid"
"""haproxy's documented example: client and frontend address and port, time, request counter
and pid (in hex), unique per haproxy process."""

# (field name, haproxy variable, how to read it): "word" (no space), "int" ("-1" or "-": None),
# "quoted" (a client's string, haproxy quotes and escapes it). Client strings come last.
_COMMON_HEAD = [
    ("request_id", "%ID", "word"),
    ("client_address", "%ci", "word"),
    ("client_port", "%cp", "int"),
    ("time", "%Ts.%ms", "time"),
    ("listener_id", "%f", "word"),
    ("pool_id", "%b", "word"),
    ("member_id", "%s", "word"),
]
_HTTP_SPEC = [
    *_COMMON_HEAD,
    ("http_status", "%ST", "int"),
    ("bytes_in", "%U", "int"),
    ("bytes_out", "%B", "int"),
    ("duration_total_ms", "%Tt", "int"),
    ("duration_request_ms", "%TR", "int"),
    ("duration_queue_ms", "%Tw", "int"),
    ("duration_connect_ms", "%Tc", "int"),
    ("duration_response_ms", "%Tr", "int"),
    ("termination_state", "%tsc", "word"),
    ("tls_client_verify", "%[ssl_c_verify]", "int"),
    ("http_method", "%{+Q,+E}HM", "quoted"),
    ("http_path", "%{+Q,+E}HP", "quoted"),
    ("http_version", "%{+Q,+E}HV", "quoted"),
    ("tls_client_dn", "%{+Q,+E}[ssl_c_s_dn]", "quoted"),
]
_TCP_SPEC = [
    *_COMMON_HEAD,
    ("bytes_in", "%U", "int"),
    ("bytes_out", "%B", "int"),
    ("duration_total_ms", "%Tt", "int"),
    ("duration_queue_ms", "%Tw", "int"),
    ("duration_connect_ms", "%Tc", "int"),
    ("termination_state", "%tsc", "word"),
]
HTTP_FORMAT = " ".join([MARKER, "http", *(variable for _, variable, _ in _HTTP_SPEC)])
TCP_FORMAT = " ".join([MARKER, "tcp", *(variable for _, variable, _ in _TCP_SPEC)])

FIELDS: dict[str, str] = {
    "time": "when haproxy accepted the connection (ISO 8601, UTC, milliseconds)",
    "project_id": "project of the load balancer",
    "loadbalancer_id": "load balancer",
    "listener_id": "listener (haproxy frontend)",
    "pool_id": "pool that served it (null: none, e.g. a refused request)",
    "member_id": "member that served it (null: none)",
    "protocol": "'http' (HTTP, TERMINATED_HTTPS) or 'tcp' (the others)",
    "client_address": "client IP address",
    "client_port": "client TCP port",
    "request_id": f"unique id, also sent to the member in {REQUEST_ID_HEADER} (HTTP)",
    "http_method": "HTTP method (http only)",
    "http_path": "HTTP path without the query; haproxy writes unsafe bytes as #XX (http only)",
    "http_version": "HTTP version (http only)",
    "http_status": "HTTP status sent to the client (http only)",
    "bytes_in": "bytes received from the client",
    "bytes_out": "bytes sent to the client",
    "duration_total_ms": "whole connection or request, accept to close (ms)",
    "duration_request_ms": "waiting for the full request (ms, http only)",
    "duration_queue_ms": "waiting in queues (ms)",
    "duration_connect_ms": "connecting to the member (ms)",
    "duration_response_ms": "member's response headers after the request (ms, http only)",
    "termination_state": "haproxy's termination state (e.g. '----', 'CD--', 'sC--')",
    "tls_client_verify": "client certificate verification result, 0 = ok "
                         "(TERMINATED_HTTPS with client authentication)",
    "tls_client_dn": "client certificate subject DN (TERMINATED_HTTPS)",
}
"""The access log field catalogue, in the order records are written: ``[access_log] fields``
picks among these names. A field that does not apply to a line (HTTP fields of a TCP line) is
left out of it."""

_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_SPECS = {"http": _HTTP_SPEC, "tcp": _TCP_SPEC}
_NO_MEMBER = frozenset({"<NOSRV>", "-", ""})


def select_fields(names: Iterable[str]) -> tuple[str, ...]:
    """The catalogue names of ``names``, in catalogue order; ValueError naming the unknown
    ones (an operator's ``[access_log] fields``)."""
    wanted = [name.strip() for name in names if name.strip()]
    unknown = [name for name in wanted if name not in FIELDS]
    if unknown:
        raise ValueError(f"[access_log] fields: unknown field(s) {', '.join(unknown)}; "
                         f"known: {', '.join(FIELDS)}")
    if not wanted:
        raise ValueError("[access_log] fields: at least one field is needed")
    return tuple(name for name in FIELDS if name in wanted)


@dataclass(frozen=True)
class SyslogMessage:
    """One RFC 5424 message as haproxy sends it: ``<PRI>1 TIME HOST TAG PID - - MSG``."""

    severity: int
    tag: str
    text: str


def parse_syslog(datagram: bytes) -> SyslogMessage | None:
    """Read one datagram from haproxy; None when it is not RFC 5424. Never raises: bytes that
    are not UTF-8 become U+FFFD."""
    text = datagram.decode("utf-8", "replace").rstrip("\n")
    if not text.startswith("<"):
        return None
    end = text.find(">", 1, 5)
    if end < 0 or not text[1:end].isdigit():
        return None
    parts = text[end + 1:].split(" ", 7)
    if len(parts) < 8 or parts[0] != "1":
        return None
    return SyslogMessage(severity=int(text[1:end]) % 8, tag=parts[3], text=parts[7])


def parse_access(text: str) -> dict[str, Any] | None:
    """The record of one access line (catalogue names, without project and load balancer);
    None when ``text`` is not an access line or does not parse. Never raises."""
    protocol = text[len(MARKER) + 1:len(MARKER) + 5].rstrip()
    if not text.startswith(MARKER) or protocol not in _PATTERNS:
        return None
    pattern, fields = _PATTERNS[protocol]
    match = pattern.fullmatch(text)
    if match is None:
        return None
    record: dict[str, Any] = {"protocol": protocol}
    for (name, read), value in zip(fields, match.groups(), strict=True):
        record[name] = read(value)
    if record["pool_id"] == record["listener_id"]:
        record["pool_id"] = None  # haproxy names the frontend when no backend was chosen
    if record["member_id"] in _NO_MEMBER:
        record["member_id"] = None
    return record


def _escaped(match: re.Match[str]) -> str:
    return match.group(1)


def _read_quoted(value: str) -> str | None:
    return (_UNESCAPE_RE.sub(_escaped, value) if "\\" in value else value) or None


def _read_word(value: str) -> str | None:
    return None if value in ("", "-") else value


def _read_int(value: str) -> int | None:
    number = int(value) if value not in ("", "-") else -1
    return None if number < 0 else number


def _iso_time(value: str) -> str:
    """``<seconds>.<ms>`` since the epoch (haproxy's %Ts.%ms) as ISO 8601 UTC."""
    seconds, _, millis = value.partition(".")
    return f"{_iso_second(int(seconds))}.{millis}Z"


_READERS = {"quoted": _read_quoted, "word": _read_word, "int": _read_int, "time": _iso_time}


_GROUPS = {"word": r"([^ ]*)", "int": r"(-?[0-9]+|-)", "time": r"([0-9]{1,12}\.[0-9]{3})",
           # unrolled ("normal* (special normal*)*"): no alternation per character
           "quoted": r'"([^"\\]*(?:\\.[^"\\]*)*)"'}


def _pattern(protocol: str, spec: list[tuple[str, str, str]]) -> re.Pattern[str]:
    """One regular expression for a whole line: the marker, then each field's group."""
    fields = " ".join(_GROUPS[kind] for _, _, kind in spec)
    return re.compile(f"{re.escape(MARKER)} {protocol} {fields}", re.DOTALL)


_PATTERNS = {
    protocol: (_pattern(protocol, spec), [(name, _READERS[kind]) for name, _, kind in spec])
    for protocol, spec in _SPECS.items()
}


@functools.lru_cache(maxsize=4)
def _iso_second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class MemberEvent:
    """A health-check transition haproxy logged: member ``member_id`` of ``pool_id`` is now
    ``status`` (UP or DOWN) because of ``reason``."""

    pool_id: str
    member_id: str
    status: str
    reason: str


_EVENT_RE = re.compile(
    r"(?:Server|Backup Server) (?P<pool>[^/ ]+)/(?P<member>[^ ]+) is (?P<status>UP|DOWN)"
    r"(?:, reason: (?P<reason>[^,]*(?:, info: \"[^\"]*\")?(?:, code: \d+)?))?"
)


def parse_member_event(text: str) -> MemberEvent | None:
    """The health-check transition in haproxy's message ``text``; None for any other message."""
    match = _EVENT_RE.match(text)
    if match is None:
        return None
    return MemberEvent(match["pool"], match["member"], match["status"], match["reason"] or "")


_DROPPED_RE = re.compile(r"([0-9]{1,18}) events? dropped")


def parse_dropped(text: str) -> int | None:
    """How many lines haproxy's ring dropped, from its notice (``<n> events dropped``, sent
    before the next line once the agent reads again); None for any other message."""
    match = _DROPPED_RE.fullmatch(text)
    return None if match is None else int(match[1])


def log_socket_path(state_path: str | os.PathLike[str], max_len: int = 97) -> Path:
    """The agent's log socket: ``<state_path>/haproxy-log.sock``, or a short path under
    ``/run/lbaas`` when that one is too long for haproxy (97 bytes)."""
    path = Path(state_path).absolute() / "haproxy-log.sock"
    if len(os.fsencode(path)) <= max_len:
        return path
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:12]
    return Path("/run/lbaas") / f"log-{digest}.sock"
