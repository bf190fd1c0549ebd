"""The agent's log sockets: haproxy's access lines and events in, files and admin events out.

:class:`AccessLogService` listens on two stream UNIX sockets (mode 0600) that every
haproxy.cfg of this agent names (:mod:`lbaas.drivers.haproxy.logs`); each haproxy's two log
rings connect and send. One thread reads every connection in big chunks:

* **access socket**: newline-delimited JSON lines, already in their final form. A connection
  speaks for the load balancer whose haproxy opened it: the kernel names the peer's pid
  (``SO_PEERCRED``), whose command line names its config under ``<state_path>/lbaas/<id>/``;
  any other peer is refused. Whole lines are written in bulk to that load balancer's file
  (:mod:`.files`) after a shape check, and queued line by line for the syslog targets
  (:mod:`.forwarder`); haproxy's notice of lines its ring dropped is counted and logged;
* **event socket**: octet-counted RFC 5424 messages (:mod:`.framing`) tagged with the load balancer
  id (a connection speaks for the tag of its first message only). A health-check transition becomes
  a JSON line of the ``lbaas.admin`` logger with ``event=member_status`` and the load balancer,
  pool and member ids (and the agent's stats pass reads that load balancer at once:
  ``on_activity``, as for access lines); a drop notice is counted; anything else is ignored
  (haproxy's start and reload notices). A stream that is not octet-counted is closed (haproxy
  reconnects).

Nothing that does not parse is fatal: it is counted. While this agent runs, and after it dies,
a holder process keeps both sockets listening (:mod:`.holder`: haproxy 2.6 would otherwise
reconnect without pause, a core per haproxy). The same thread prunes the logs of deleted load
balancers every :data:`PRUNE_INTERVAL`. Started and stopped by :mod:`lbaas.agent.service`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oslo_config import cfg

from lbaas.agent.access_logs import holder
from lbaas.agent.access_logs.files import AccessLogFiles
from lbaas.agent.access_logs.forwarder import SyslogForwarder
from lbaas.agent.access_logs.framing import FramingError, OctetCountDecoder
from lbaas.core.admin_events import Event, admin_event
from lbaas.drivers.haproxy import escaping, logs
from lbaas.drivers.haproxy.state_paths import StatePaths
from lbaas.drivers.pids import command_line

LOG = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
BACKLOG = 4096  # two connections per haproxy wait here while no agent accepts
PRUNE_INTERVAL = 300.0
BATCH_WAIT = 0.005  # seconds between reads: at 20,000 lines/s, ~60 KB per read
IDLE_WAIT_MAX = 1.0
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


@dataclass
class _Connection:
    """One haproxy's event connection: its frames, and the load balancer it speaks for."""

    decoder: OctetCountDecoder = field(default_factory=OctetCountDecoder)
    lb_id: str | None = None


@dataclass
class _AccessConnection:
    """One haproxy's access connection: its load balancer, and the start of a line not
    complete yet."""

    lb_id: str
    pending: bytes = b""


class _Listening:
    """Selector data of a listening socket: which kind of connection it accepts."""

    def __init__(self, access: bool) -> None:
        self.access = access


@dataclass
class ReceiverCounters:
    access_lines: int = 0
    events: int = 0
    unparsed: int = 0
    dropped: int = 0  # lines haproxy's rings dropped (their notices)


class AccessLogService:
    """Receives one agent's haproxy logs (see the module docstring)."""

    def __init__(self, conf: cfg.ConfigOpts, hostname: str,
                 on_activity: Callable[[str], None] | None = None) -> None:
        """``on_activity(lb_id)`` is called (on the reading thread) when a load balancer served
        logged requests or a member's health changed: the agent's stats pass reads it soon.
        Raises ValueError when ``[access_log]`` is wrong (unknown fields, bad targets)."""
        self.on_activity = on_activity
        options = conf.access_log
        self.enabled: bool = options.enabled
        logs.select_fields(options.fields)  # an unknown field stops the agent here
        self.state_path = conf.state_path
        self.socket_path = logs.log_socket_path(conf.state_path)
        self.access_socket_path = logs.access_socket_path(conf.state_path)
        self.files = AccessLogFiles(options.directory, options.max_bytes, options.backup_count,
                                    options.keep_after_delete)
        self.forwarder = (
            SyslogForwarder(options.syslog_targets, options.syslog_protocol,
                            options.syslog_facility, options.syslog_queue_size, hostname)
            if options.syslog_targets else None
        )
        self.counters = ReceiverCounters()
        self._socks: list[tuple[socket.socket, Path, _Listening]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and listen on both sockets (replacing stale ones) and start reading."""
        self._socks = [(_listen(self.socket_path), self.socket_path, _Listening(access=False)),
                       (_listen(self.access_socket_path), self.access_socket_path,
                        _Listening(access=True))]
        # The previous agent's holder goes once ours listen: what it queued comes to us.
        if holder.stop_holder(self.state_path):
            LOG.info("took over the log sockets from the previous agent's holder")
        holder.spawn_holder(self.state_path, [sock.fileno() for sock, _, _ in self._socks])
        if self.forwarder is not None:
            self.forwarder.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="lbaas-access-log", daemon=True)
        self._thread.start()
        LOG.info("reading haproxy logs on %s and %s (access logs %s, in %s)", self.socket_path,
                 self.access_socket_path, "on" if self.enabled else "off", self.files.directory)

    def stop(self, timeout: float = 5.0, *, release: bool = True) -> None:
        """Stop reading. ``release``: also close the sockets for good (their holder too);
        False leaves them to the holder, as a crash does (haproxy waits in their backlog
        rather than reconnecting without pause), until the next :meth:`start` takes over."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if release:
            holder.stop_holder(self.state_path)
        for sock, path, _ in self._socks:
            sock.close()
            if release:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self._socks = []
        self.files.close()
        if self.forwarder is not None:
            self.forwarder.stop()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        for sock, _, kind in self._socks:
            selector.register(sock, selectors.EVENT_READ, kind)
        next_prune = time.monotonic()
        try:
            while not self._stop.is_set():
                ready = selector.select(IDLE_WAIT_MAX)
                try:
                    if time.monotonic() >= next_prune:
                        next_prune = time.monotonic() + PRUNE_INTERVAL
                        self.files.prune(self._running())
                    if not ready:
                        continue
                    read = False
                    for key, _ in ready:
                        conn = key.fileobj
                        assert isinstance(conn, socket.socket)
                        if isinstance(key.data, _Listening):
                            self._accept(conn, key.data, selector)
                        elif isinstance(key.data, _AccessConnection):
                            read |= self._read_access(conn, key.data, selector)
                        else:
                            read |= self._read(conn, key.data, selector)
                    if read:
                        self.files.flush()  # one write per file and batch
                except Exception:
                    LOG.exception("cannot handle haproxy's log lines")
                # Let lines pile up in the sockets: fewer, bigger reads (haproxy's ring
                # holds what the socket cannot, and drops lines when full).
                self._stop.wait(BATCH_WAIT)
        except OSError as exc:
            LOG.error("log sockets %s, %s failed: %s", self.socket_path, self.access_socket_path,
                      exc)
        finally:
            for key in list(selector.get_map().values()):
                if not isinstance(key.data, _Listening):
                    key.fileobj.close()  # type: ignore[union-attr]
            selector.close()

    def _accept(self, listener: socket.socket, kind: _Listening,
                selector: selectors.BaseSelector) -> None:
        with contextlib.suppress(BlockingIOError):
            conn, _ = listener.accept()
            conn.setblocking(False)
            if not kind.access:
                selector.register(conn, selectors.EVENT_READ, _Connection())
                return
            pid, _, _ = _PEERCRED.unpack(
                conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
            lb_id = load_balancer_of_process(pid, self.state_path)
            if lb_id is None:
                LOG.warning("refusing an access log connection from pid %d: not the haproxy "
                            "of a load balancer under %s", pid, self.state_path)
                self.counters.unparsed += 1
                conn.close()
                return
            selector.register(conn, selectors.EVENT_READ, _AccessConnection(lb_id))

    def _read_access(self, conn: socket.socket, state: _AccessConnection,
                     selector: selectors.BaseSelector) -> bool:
        """Write the whole lines one haproxy sent; close its connection at its end (haproxy
        connects again). True when something was read."""
        data = _receive(conn)
        if data is None:
            return False
        if not data:
            selector.unregister(conn)
            conn.close()
            return False
        if state.pending:
            data = state.pending + data
        cut = data.rfind(b"\n") + 1
        state.pending = data[cut:]
        if len(state.pending) > logs.ACCESS_MAX_LINE:  # not haproxy's: no line is that long
            LOG.warning("closing the access log connection of %s: a line of over %d bytes",
                        state.lb_id, logs.ACCESS_MAX_LINE)
            self.counters.unparsed += 1
            selector.unregister(conn)
            conn.close()
            return cut > 0
        if cut:
            self.write_access(state.lb_id, data[:cut])
        return True

    def write_access(self, lb_id: str, block: bytes) -> None:
        """Handle whole lines (``block`` ends with a newline) of ``lb_id``'s access stream."""
        lines, count, others = logs.split_access_block(block)
        if count:
            if self.on_activity is not None:
                self.on_activity(lb_id)
            self.counters.access_lines += count
            self.files.write_block(lb_id, lines, count)
            if self.forwarder is not None:
                for line in lines.decode("ascii").splitlines():
                    self.forwarder.submit(lb_id, line)
        for other in others:
            self._notice(lb_id, other.decode("utf-8", "replace"), access=True)

    def _read(self, conn: socket.socket, state: _Connection,
              selector: selectors.BaseSelector) -> bool:
        """Handle what one haproxy sent; close its connection at its end or on garbage
        (haproxy connects again). True when something was read."""
        data = _receive(conn)
        if data is None:
            return False
        try:
            messages = state.decoder.feed(data) if data else []
        except FramingError as exc:
            LOG.warning("closing a haproxy log connection: %s", exc)
            self.counters.unparsed += 1
            data = b""
            messages = []
        for message in messages:
            self.handle(message, state)
        if not data:
            selector.unregister(conn)
            conn.close()
            return False
        return True

    # -- one message ---------------------------------------------------------------------------

    def handle(self, raw: bytes, connection: _Connection | None = None) -> None:
        """Handle one message from haproxy (see the module docstring). On a ``connection``,
        the first message's tag is the only one accepted afterwards."""
        message = logs.parse_syslog(raw)
        known = connection.lb_id if connection is not None else None
        if message is None or (message.tag != known and (known is not None
                                                         or not _is_id(message.tag))):
            self.counters.unparsed += 1
            return
        lb_id = message.tag
        if connection is not None:
            connection.lb_id = lb_id
        event = logs.parse_member_event(message.text)
        if event is not None:
            self.counters.events += 1
            if self.on_activity is not None:
                self.on_activity(lb_id)
            admin_event(
                Event.MEMBER_STATUS, lb_id, "member %s of pool %s is %s: %s", event.member_id,
                event.pool_id, event.status, event.reason or "no reason given",
                level=logging.WARNING if event.status == "DOWN" else logging.INFO,
                pool_id=event.pool_id, member_id=event.member_id, status=event.status,
                reason=event.reason,
            )
        else:
            self._notice(lb_id, message.text, access=False)

    def _notice(self, lb_id: str, text: str, *, access: bool) -> None:
        """haproxy's other messages: a ring's count of the lines it dropped is counted and
        logged; on the access stream anything else is a line that is not JSON (counted)."""
        dropped = logs.parse_dropped(text)
        if dropped is not None:
            self.counters.dropped += dropped
            LOG.warning("haproxy of load balancer %s dropped %d %s line(s): the agent did not "
                        "read them in time", lb_id, dropped, "access" if access else "event")
        elif access:
            self.counters.unparsed += 1

    def _running(self) -> set[str]:
        """Load balancers with a state directory on this agent."""
        with contextlib.suppress(FileNotFoundError):
            return {entry.name for entry in (Path(self.state_path) / "lbaas").iterdir()}
        return set()


def _is_id(tag: str) -> bool:
    try:
        escaping.file_stem(tag, "log tag")
    except escaping.UnsafeConfigValue:
        return False
    return True


def _receive(conn: socket.socket) -> bytes | None:
    """One big read: the bytes, ``b""`` at the end of the stream (or an error), None when
    there is nothing to read yet."""
    try:
        return conn.recv(READ_SIZE)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _listen(path: Path) -> socket.socket:
    """A non-blocking stream socket listening on ``path``, born 0600 (a stale one replaced)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def load_balancer_of_process(pid: int, state_path: str | os.PathLike[str]) -> str | None:
    """The load balancer whose haproxy process ``pid`` is: its command line names
    ``<state_path>/lbaas/<id>/haproxy.cfg`` after ``-f``. None for any other process."""
    for flag, value in itertools.pairwise(command_line(pid)):
        if flag != b"-f":
            continue
        config = Path(os.fsdecode(value))
        lb_id = config.parent.name
        if _is_id(lb_id) and StatePaths.for_load_balancer(state_path, lb_id).config == config:
            return lb_id
    return None
