"""HAProxy's runtime API: send commands to a stats or master socket and parse what comes back.

The agent's stats loop calls :meth:`StatsClient.show_stat` for member health and counters; the
master CLI client (:mod:`lbaas.drivers.haproxy.master_cli`) uses :func:`socket_command`, and the
process manager (:mod:`lbaas.drivers.haproxy.process`) saves
:meth:`StatsClient.show_servers_state_text` before a reload; member changes at runtime
(:mod:`lbaas.drivers.haproxy.runtime_apply`) add, set, drain and delete servers through it. In
our configs a frontend is named after its listener id, a backend after its pool id and a server
after its member id, so the records below are keyed by those ids.

``show stat`` is parsed by its header line (``# pxname,svname,...``), not by column position, so
columns added by newer HAProxy versions do not shift anything.
"""

from __future__ import annotations

import csv
import enum
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

READ_CHUNK = 65536
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")

TYPE_FRONTEND, TYPE_BACKEND, TYPE_SERVER = 0, 1, 2
SERVER_ADDED, SERVER_DELETED, NO_SUCH_SERVER = (
    "New server registered.", "Server deleted.", "No such server.")


class StatsError(Exception):
    """The socket could not be reached or answered something unusable."""


class CommandFailed(StatsError):
    """HAProxy refused a runtime command; the message is its answer."""


def socket_command(
    path: str, command: str, *, timeout: float = 5.0, half_close: bool = True
) -> str:
    """Send one ``command`` to the unix socket ``path`` and return the whole answer.

    ``half_close`` shuts our sending side down after the command: the master CLI waits for more
    input otherwise (the stats socket answers one command and closes either way).
    Raises OSError (ConnectionRefusedError, FileNotFoundError, TimeoutError...) on socket errors.
    """
    if "\n" in command or "\r" in command:
        raise ValueError("a command must be a single line")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(command.encode() + b"\n")
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(READ_CHUNK):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


class ServerStatus(enum.StrEnum):
    """A server's state as ``show stat`` reports it, without the check-transition suffix."""

    UP = "UP"
    DOWN = "DOWN"
    MAINT = "MAINT"
    DRAIN = "DRAIN"
    NOLB = "NOLB"
    NO_CHECK = "no check"
    UNKNOWN = "UNKNOWN"


def parse_server_status(raw: str) -> ServerStatus:
    """``"UP"``, ``"UP 1/3"`` (failing checks), ``"DOWN 1/2"`` (recovering), ``"MAINT (via x/y)"``,
    ``"DRAIN (agent)"``, ``"no check"`` -> the :class:`ServerStatus` without the suffix."""
    raw = raw.strip()
    if raw == "no check":
        return ServerStatus.NO_CHECK
    head = raw.split(" ", 1)[0]
    try:
        return ServerStatus(head)
    except ValueError:
        return ServerStatus.UNKNOWN


@dataclass(frozen=True)
class ProxyStats:
    """Counters of one frontend (a listener) or one backend (a pool)."""

    name: str
    status: str
    scur: int
    stot: int
    bin: int
    bout: int
    ereq: int
    req_tot: int


@dataclass(frozen=True)
class ServerStats:
    """Counters and health of one server (a member) of backend ``backend``."""

    backend: str
    name: str
    status: ServerStatus
    status_text: str
    weight: int
    scur: int
    stot: int
    bin: int
    bout: int
    check_status: str
    addr: str


@dataclass(frozen=True)
class StatsSnapshot:
    """One ``show stat`` answer, split by object type."""

    frontends: dict[str, ProxyStats] = field(default_factory=dict)
    backends: dict[str, ProxyStats] = field(default_factory=dict)
    servers: dict[tuple[str, str], ServerStats] = field(default_factory=dict)

    def servers_of(self, backend: str) -> list[ServerStats]:
        """The servers of ``backend`` in configuration order."""
        return [srv for (be, _), srv in self.servers.items() if be == backend]


def _int(row: dict[str, str], column: str) -> int:
    value = row.get(column) or ""
    try:
        return int(value)
    except ValueError:
        return 0


def parse_show_stat(text: str) -> StatsSnapshot:
    """Parse ``show stat`` CSV (header line ``# pxname,svname,...`` first)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise StatsError(f"not a show stat answer: {text[:200]!r}")
    header = lines[0][2:].split(",")
    snapshot = StatsSnapshot()
    for values in csv.reader(line for line in lines[1:] if line.strip()):
        row = dict(zip(header, values, strict=False))
        kind = _int(row, "type")
        name = row.get("pxname", "")
        if kind in (TYPE_FRONTEND, TYPE_BACKEND):
            proxy = ProxyStats(
                name=name,
                status=row.get("status", ""),
                scur=_int(row, "scur"),
                stot=_int(row, "stot"),
                bin=_int(row, "bin"),
                bout=_int(row, "bout"),
                ereq=_int(row, "ereq"),
                req_tot=_int(row, "req_tot"),
            )
            (snapshot.frontends if kind == TYPE_FRONTEND else snapshot.backends)[name] = proxy
        elif kind == TYPE_SERVER:
            server = ServerStats(
                backend=name,
                name=row.get("svname", ""),
                status=parse_server_status(row.get("status", "")),
                status_text=row.get("status", ""),
                weight=_int(row, "weight"),
                scur=_int(row, "scur"),
                stot=_int(row, "stot"),
                bin=_int(row, "bin"),
                bout=_int(row, "bout"),
                check_status=row.get("check_status", ""),
                addr=row.get("addr", ""),
            )
            snapshot.servers[(server.backend, server.name)] = server
    return snapshot


@dataclass(frozen=True)
class ServerRuntimeState:
    """One line of ``show servers state`` (what ``load-server-state-from-file`` restores)."""

    backend: str
    name: str
    addr: str
    op_state: int  # 0 stopped (DOWN), 1 starting, 2 running (UP), 3 stopping
    admin_state: int  # bit flags: 0x01 forced maint, 0x08 forced drain ...
    user_weight: int
    port: int

    @property
    def up(self) -> bool:
        return self.op_state == 2

    @property
    def maint(self) -> bool:
        return bool(self.admin_state & 0x01)

    @property
    def drain(self) -> bool:
        return bool(self.admin_state & 0x08)


def parse_servers_state(text: str) -> list[ServerRuntimeState]:
    """Parse ``show servers state`` (a version line ``1``, a ``# be_id be_name ...`` header)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0].strip() != "1" or not lines[1].startswith("# "):
        raise StatsError(f"not a show servers state answer: {text[:200]!r}")
    header = lines[1][2:].split()
    states = []
    for line in lines[2:]:
        row = dict(zip(header, line.split(), strict=False))
        states.append(
            ServerRuntimeState(
                backend=row.get("be_name", ""),
                name=row.get("srv_name", ""),
                addr=row.get("srv_addr", ""),
                op_state=_int(row, "srv_op_state"),
                admin_state=_int(row, "srv_admin_state"),
                user_weight=_int(row, "srv_uweight"),
                port=_int(row, "srv_port"),
            )
        )
    return states


def _check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid {kind} name {name!r}")
    return name


class StatsClient:
    """Commands on one load balancer's admin-level stats socket."""

    def __init__(self, path: str, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout

    def command(self, command: str) -> str:
        """Run ``command`` and return the raw answer (OSError when the socket is unreachable)."""
        return socket_command(self.path, command, timeout=self.timeout)

    def _runtime(self, command: str) -> None:
        answer = self.command(command).strip()
        if answer:
            raise CommandFailed(answer)

    def show_stat(self) -> StatsSnapshot:
        """Counters and health of every frontend, backend and server."""
        return parse_show_stat(self.command("show stat"))

    def show_servers_state_text(self) -> str:
        """The raw ``show servers state`` text (the format of a ``server-state-file``)."""
        text = self.command("show servers state")
        parse_servers_state(text)  # refuse to hand back an error message as a state file
        return text

    def show_servers_state(self) -> list[ServerRuntimeState]:
        """Runtime state of every server (address, op/admin state, weight)."""
        return parse_servers_state(self.command("show servers state"))

    def set_server_weight(self, backend: str, server: str, weight: int) -> None:
        """Set a server's weight (0-256) until the next reload without a state file."""
        if not 0 <= weight <= 256:
            raise ValueError(f"weight {weight} out of 0-256")
        self._runtime(f"set server {_server(backend, server)} weight {weight}")

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        """Put a server in ``ready``, ``drain`` or ``maint`` state."""
        if state not in ("ready", "drain", "maint"):
            raise ValueError(f"state {state!r} is not ready, drain or maint")
        self._runtime(f"set server {_server(backend, server)} state {state}")

    def add_server(self, backend: str, server: str, args: Sequence[str]) -> None:
        """``add server``: a new server (in maintenance, checks off) with the keywords of a
        config ``server`` line after its name."""
        key = _server(backend, server)
        answer = self.command(f"add server {key} {' '.join(args)}").strip()
        if answer != SERVER_ADDED:
            raise CommandFailed(f"add server {key}: {answer}")

    def enable_health(self, backend: str, server: str) -> None:
        """Start the health checks of a server added at runtime."""
        self._runtime(f"enable health {_server(backend, server)}")

    def shutdown_sessions(self, backend: str, server: str) -> None:
        """Close every connection of a server."""
        self._runtime(f"shutdown sessions server {_server(backend, server)}")

    def delete_server(self, backend: str, server: str) -> bool:
        """``del server`` of a server in maintenance: True when it is gone (or was), False
        while haproxy refuses (it still has connections)."""
        answer = self.command(f"del server {_server(backend, server)}").strip()
        return answer in (SERVER_DELETED, NO_SUCH_SERVER)


def _server(backend: str, server: str) -> str:
    """``backend/server`` for a command, both names checked."""
    return f"{_check_name('backend', backend)}/{_check_name('server', server)}"
