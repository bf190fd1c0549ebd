"""What haproxy logs to its agent, and how the agent reads it back.

haproxy.cfg (:mod:`.view`, :mod:`.render`) sends two streams to the agent, each from an
in-memory ``ring`` that haproxy forwards over one stream connection to a UNIX socket of the
agent. Writing into a ring never blocks: when the agent falls behind, haproxy drops lines and
later says how many.

* **Access lines** (ring :data:`ACCESS_RING_NAME`, socket :func:`access_socket_path`): one per
  request (``mode http``) or connection (``mode tcp``), already a JSON document:
  :func:`access_log_format` turns the ``[access_log] fields`` into the listener's haproxy
  ``log-format``. Every string a client chooses goes through haproxy's ``json`` converter
  (quotes, backslashes, control and non-ASCII characters escaped), the ids and names are
  constants written by us, the rest are numbers: a line is valid JSON, printable ASCII, and
  holds no newline, so the stream is newline-delimited and the agent writes it in bulk
  (:func:`split_access_block` only checks its shape). The load balancer a connection speaks
  for is the one whose haproxy opened it (its pid, from the kernel), not anything in the lines.
* **haproxy's own events** (ring :data:`RING_NAME`, socket :func:`log_socket_path`): RFC 5424
  with the load balancer id as their tag (``log-tag``), each framed by its length (RFC 6587
  octet counting, :mod:`lbaas.agent.access_logs.framing`); :func:`parse_member_event` picks out
  health-check transitions (``Server <pool>/<member> is UP|DOWN, reason: ...``),
  :func:`parse_dropped` a ring's count of the lines it dropped.

Each logged request also gets a unique id (:func:`unique_id_format`), sent to the member in
:data:`REQUEST_ID_HEADER` and logged as ``request_id``.

Pure: no I/O. The agent's receiver (:mod:`lbaas.agent.access_logs.receiver`) calls the
readers; the view builder the formats.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ACCESS_MAX_LINE",
    "ACCESS_RING_NAME",
    "EVENT_RING_SIZE",
    "FIELDS",
    "MAX_LINE",
    "REQUEST_ID_HEADER",
    "RING_NAME",
    "RING_SIZE",
    "RING_TIMEOUT_SERVER",
    "MemberEvent",
    "SyslogMessage",
    "access_log_format",
    "access_socket_path",
    "log_socket_path",
    "parse_dropped",
    "parse_member_event",
    "parse_syslog",
    "select_fields",
    "split_access_block",
    "unique_id_format",
]

RING_NAME = "lbaas-log"
"""haproxy's own events (health checks, drops): RFC 5424, octet-counted."""
ACCESS_RING_NAME = "lbaas-access"
"""Access lines: JSON, newline-delimited."""
MAX_LINE = 8192
"""Longest event message haproxy keeps (``maxlen``, header included; longer ones are cut)."""
ACCESS_MAX_LINE = 65535
"""Longest access line (haproxy's limit): above what a request line (``tune.bufsize``, 16 KiB)
can grow to once escaped, so no line is ever cut."""
RING_SIZE = 512 * 1024
"""Bytes of haproxy's access ring: ~1,000 access lines, 40 ms at 25,000 requests/s."""
EVENT_RING_SIZE = 64 * 1024
"""Bytes of haproxy's event ring: hundreds of health-check messages (rare; the memory of
each of a host's haproxy processes, once written)."""
RING_TIMEOUT_SERVER = "30s"
"""haproxy closes a connection the agent has not read from for this long, and connects
again (the ring keeps its place)."""
REQUEST_ID_HEADER = "X-Request-ID"

FIELDS: dict[str, str] = {
    "time": "when haproxy accepted the connection: seconds since the epoch (UTC), with "
            "milliseconds",
    "project_id": "project of the load balancer",
    "loadbalancer_id": "load balancer",
    "listener_id": "listener (haproxy frontend)",
    "pool_id": "pool that served it; the listener's id when the request reached none (refused, "
               "malformed, or no pool to send it to)",
    "member_id": "member that served it ('': none)",
    "protocol": "'http' (HTTP, TERMINATED_HTTPS) or 'tcp' (the others)",
    "client_address": "client IP address",
    "client_port": "client TCP port",
    "request_id": f"unique id, also sent to the member in {REQUEST_ID_HEADER} (HTTP)",
    "http_method": "HTTP method ('' for a request haproxy could not read; http only)",
    "http_path": "HTTP path without the query ('' for a request haproxy could not read; "
                 "http only)",
    "http_version": "HTTP version, e.g. 'HTTP/1.1' (http only)",
    "http_status": "HTTP status sent to the client (http only)",
    "bytes_in": "bytes received from the client",
    "bytes_out": "bytes sent to the client",
    "duration_total_ms": "whole connection or request, accept to close (ms)",
    "duration_request_ms": "waiting for the full request (ms, http only)",
    "duration_queue_ms": "waiting in queues (ms)",
    "duration_connect_ms": "connecting to the member (ms)",
    "duration_response_ms": "member's response headers after the request (ms, http only)",
    "termination_state": "haproxy's termination state (e.g. '----', 'CD--', 'sC--')",
    "tls_client_verify": "client certificate verification result, 0 = ok (TERMINATED_HTTPS "
                         "with client authentication; null otherwise)",
    "tls_client_dn": "client certificate subject DN, '' without one (TERMINATED_HTTPS with "
                     "client authentication; null otherwise)",
}
"""The access log field catalogue, in the order records are written: ``[access_log] fields``
picks among these names. A field that does not apply to a line (HTTP fields of a TCP line) is
left out of it. Numbers are -1 for a step that did not happen (haproxy's convention)."""

# How haproxy writes each field that is not a constant. Client strings go through the json
# converter: it escapes what JSON needs and every non-ASCII byte ("utf8s": invalid UTF-8
# skipped). The request's method, path and version come from the captured request line
# (haproxy has freed the request when it logs); the path stops at "?": no query is logged.
_HTTP_ONLY = {
    "http_method": "%{+Q}[capture.req.method,json(utf8s)]",
    "http_path": "%{+Q}[capture.req.uri,field(1,?),json(utf8s)]",
    "http_version": "%{+Q}[capture.req.ver,json(utf8s)]",
    "http_status": "%ST",
    "duration_request_ms": "%TR",
    "duration_response_ms": "%Tr",
}
_EVERY_PROTOCOL = {
    "time": "%Ts.%ms",
    "client_address": '"%ci"',
    "client_port": "%cp",
    "request_id": '"%ID"',
    "listener_id": '"%f"',
    "pool_id": '"%b"',
    "member_id": "%{+Q}[srv_name]",
    "bytes_in": "%U",
    "bytes_out": "%B",
    "duration_total_ms": "%Tt",
    "duration_queue_ms": "%Tw",
    "duration_connect_ms": "%Tc",
    "termination_state": '"%tsc"',
}
_CLIENT_CERTIFICATE = {
    "tls_client_verify": "%[ssl_c_verify]",
    "tls_client_dn": "%{+Q}[ssl_c_s_dn,json(utf8s)]",
}


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


def access_log_format(fields: Sequence[str], *, protocol: str, loadbalancer_id: str,
                      project_id: str, client_certificate: bool) -> str:
    """The haproxy ``log-format`` of one listener: a JSON object with ``fields`` (catalogue
    names, in that order; :func:`select_fields`). ``protocol`` is ``http`` (HTTP-mode
    frontends) or ``tcp``; ``client_certificate``: the listener asks clients for one (its TLS
    fields are null otherwise). The ids are written as constants."""
    constants = {"loadbalancer_id": loadbalancer_id, "project_id": project_id,
                 "protocol": protocol}
    members = []
    for name in fields:
        if name in constants:
            value = _constant(constants[name])
        elif name in _CLIENT_CERTIFICATE:
            value = _CLIENT_CERTIFICATE[name] if client_certificate else "null"
        elif name in _EVERY_PROTOCOL:
            value = _EVERY_PROTOCOL[name]
        elif name in _HTTP_ONLY:
            if protocol != "http":
                continue
            value = _HTTP_ONLY[name]
        else:
            raise ValueError(f"unknown access log field {name!r}")
        members.append(f'"{name}":{value}')
    return "{" + ",".join(members) + "}"


def _constant(value: str) -> str:
    """``value`` as a JSON string haproxy copies as is: ASCII, and no ``%`` (which would
    start a log variable)."""
    return json.dumps(value, ensure_ascii=True).replace("%", "\\u0025")


def unique_id_format(loadbalancer_id: str) -> str:
    """haproxy's ``unique-id-format`` of a load balancer's listeners: the start of its id,
    accept time, haproxy's pid and request counter, in decimal (cheaper for haproxy than hex):
    unique per load balancer, and across them in practice."""
    return f"{loadbalancer_id[:8]}-%Ts-%pid-%rt"


def split_access_block(block: bytes) -> tuple[bytes, int, list[bytes]]:
    """Sort whole lines (``block`` ends with a newline) of an access stream: the JSON lines
    as they came (one bulk write), their count, and the other lines (haproxy's own notices,
    such as a ring's drop count). Checks the shape only, in C-speed passes: haproxy wrote
    the JSON (see the module docstring)."""
    count = block.count(b"\n")
    if (block[:1] == b"{" and block.count(b"}\n") == count
            and block.count(b"\n{") == count - 1 and block.isascii()):
        return block, count, []
    good: list[bytes] = []
    others: list[bytes] = []
    for line in block.split(b"\n")[:-1]:
        if line[:1] == b"{" and line[-1:] == b"}" and line.isascii():
            good.append(line)
        elif line:
            others.append(line)
    return b"".join(line + b"\n" for line in good), len(good), others


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
    """The agent's socket for haproxy's events: ``<state_path>/haproxy-log.sock``, or a short
    path under ``/run/lbaas`` when that one is too long for haproxy (97 bytes)."""
    return _socket_path(state_path, "log", max_len)


def access_socket_path(state_path: str | os.PathLike[str], max_len: int = 97) -> Path:
    """The agent's socket for access lines: ``<state_path>/haproxy-access.sock`` (or a short
    path under ``/run/lbaas``, as :func:`log_socket_path`)."""
    return _socket_path(state_path, "access", max_len)


def _socket_path(state_path: str | os.PathLike[str], kind: str, max_len: int) -> Path:
    path = Path(state_path).absolute() / f"haproxy-{kind}.sock"
    if len(os.fsencode(path)) <= max_len:
        return path
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:12]
    return Path("/run/lbaas") / f"{kind}-{digest}.sock"
