"""The agent's log socket: haproxy's lines in, access logs and admin events out.

:class:`AccessLogService` listens on the stream UNIX socket every haproxy.cfg of this agent
logs to (:func:`lbaas.drivers.haproxy.logs.log_socket_path`, mode 0600): each haproxy's log
ring connects and sends octet-counted RFC 5424 messages (:mod:`.framing`). One thread reads
every connection in big chunks:

* an access line (:func:`~lbaas.drivers.haproxy.logs.parse_access`) of load balancer ``<tag>``
  becomes one JSON line with the ``[access_log] fields``, written to its file (:mod:`.files`)
  and queued for the syslog targets (:mod:`.forwarder`). The project id is the one the device
  driver wrote next to haproxy.cfg (``project_id`` in the state directory). A connection
  speaks for the load balancer of its first message only: lines with another tag are refused;
* a health-check transition becomes a JSON line of the ``lbaas.admin`` logger with
  ``event=member_status`` and the load balancer, pool and member ids;
* haproxy's notice of lines its ring dropped (the agent was too slow) is counted and logged;
* anything else is ignored (haproxy's start and reload notices) and a line that does not parse
  is counted, never fatal; a stream that is not octet-counted is closed (haproxy reconnects).

The same thread prunes the logs of deleted load balancers every :data:`PRUNE_INTERVAL`.
Started and stopped by :mod:`lbaas.agent.service`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oslo_config import cfg

from lbaas.agent.access_logs.files import AccessLogFiles
from lbaas.agent.access_logs.forwarder import SyslogForwarder
from lbaas.agent.access_logs.framing import FramingError, OctetCountDecoder
from lbaas.core.admin_events import Event, admin_event
from lbaas.drivers.haproxy import escaping, logs
from lbaas.drivers.haproxy.namespace_driver import PROJECT_FILE
from lbaas.drivers.haproxy.state_paths import StatePaths

LOG = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
BACKLOG = 128
PRUNE_INTERVAL = 300.0
PROJECT_RETRY = 10.0
BATCH_WAIT = 0.005  # seconds between reads: at 20,000 lines/s, ~30 KB per read
IDLE_WAIT_MAX = 1.0
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


@dataclass
class _Connection:
    """One haproxy's connection: its frames, and the load balancer it speaks for."""

    decoder: OctetCountDecoder = field(default_factory=OctetCountDecoder)
    lb_id: str | None = None


@dataclass
class ReceiverCounters:
    access_lines: int = 0
    events: int = 0
    unparsed: int = 0
    dropped: int = 0  # lines haproxy's rings dropped (their notices)


class AccessLogService:
    """Receives one agent's haproxy logs (see the module docstring)."""

    def __init__(self, conf: cfg.ConfigOpts, hostname: str) -> None:
        """Raises ValueError when ``[access_log]`` is wrong (unknown fields, bad targets)."""
        options = conf.access_log
        self.enabled: bool = options.enabled
        self.fields = logs.select_fields(options.fields)
        self.state_path = conf.state_path
        self.socket_path = logs.log_socket_path(conf.state_path)
        self.files = AccessLogFiles(options.directory, options.max_bytes, options.backup_count,
                                    options.keep_after_delete)
        self.forwarder = (
            SyslogForwarder(options.syslog_targets, options.syslog_protocol,
                            options.syslog_facility, options.syslog_queue_size, hostname)
            if options.syslog_targets else None
        )
        self.counters = ReceiverCounters()
        self._projects: dict[str, tuple[str | None, float]] = {}  # lb -> (project, retry at)
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and listen on the socket (replacing a stale one) and start reading."""
        self.socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600
        try:
            sock.bind(str(self.socket_path))
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o600)
        sock.listen(BACKLOG)
        sock.setblocking(False)
        self._sock = sock
        if self.forwarder is not None:
            self.forwarder.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="lbaas-access-log", daemon=True)
        self._thread.start()
        LOG.info("reading haproxy logs on %s (access logs %s, in %s)", self.socket_path,
                 "on" if self.enabled else "off", self.files.directory)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
        self.files.close()
        if self.forwarder is not None:
            self.forwarder.stop()

    def _run(self) -> None:
        assert self._sock is not None
        listener = self._sock
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, None)
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
                        if key.data is None:
                            self._accept(listener, selector)
                        else:
                            read |= self._read(key.fileobj, key.data, selector)  # type: ignore[arg-type]
                    if read:
                        self.files.flush()  # one write per file and batch
                except Exception:
                    LOG.exception("cannot handle haproxy's log lines")
                # Let lines pile up in the sockets: fewer, bigger reads (haproxy's ring
                # holds what the socket cannot, and drops lines when full).
                self._stop.wait(BATCH_WAIT)
        except OSError as exc:
            LOG.error("log socket %s failed: %s", self.socket_path, exc)
        finally:
            for key in list(selector.get_map().values()):
                if key.data is not None:
                    key.fileobj.close()  # type: ignore[union-attr]
            selector.close()

    def _accept(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        with contextlib.suppress(BlockingIOError):
            conn, _ = listener.accept()
            conn.setblocking(False)
            selector.register(conn, selectors.EVENT_READ, _Connection())

    def _read(self, conn: socket.socket, state: _Connection,
              selector: selectors.BaseSelector) -> bool:
        """Handle what one haproxy sent; close its connection at its end or on garbage
        (haproxy connects again). True when something was read."""
        try:
            data = conn.recv(READ_SIZE)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
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
        record = logs.parse_access(message.text)
        if record is not None:
            self.counters.access_lines += 1
            line = self.json_line(lb_id, record)
            self.files.write(lb_id, line)
            if self.forwarder is not None:
                self.forwarder.submit(lb_id, line)
            return
        event = logs.parse_member_event(message.text)
        if event is not None:
            self.counters.events += 1
            admin_event(
                Event.MEMBER_STATUS, lb_id, "member %s of pool %s is %s: %s", event.member_id,
                event.pool_id, event.status, event.reason or "no reason given",
                level=logging.WARNING if event.status == "DOWN" else logging.INFO,
                pool_id=event.pool_id, member_id=event.member_id, status=event.status,
                reason=event.reason,
            )
        elif (dropped := logs.parse_dropped(message.text)) is not None:
            self.counters.dropped += dropped
            LOG.warning("haproxy of load balancer %s dropped %d log line(s): the agent did not "
                        "read them in time", lb_id, dropped)
        elif message.text.startswith(logs.MARKER):
            self.counters.unparsed += 1

    def json_line(self, lb_id: str, record: dict[str, Any]) -> str:
        """The JSON line of ``record`` with the chosen fields (ASCII only: valid whatever a
        client sent)."""
        record["loadbalancer_id"] = lb_id
        record["project_id"] = self._project(lb_id)
        return _ENCODE({name: record[name] for name in self.fields if name in record})

    def _project(self, lb_id: str) -> str | None:
        """The project the device driver recorded for ``lb_id`` (looked up again at most every
        :data:`PROJECT_RETRY` seconds while unknown)."""
        known = self._projects.get(lb_id)
        if known is not None and (known[0] is not None or time.monotonic() < known[1]):
            return known[0]
        path = StatePaths.for_load_balancer(self.state_path, lb_id).directory / PROJECT_FILE
        try:
            project = path.read_text().strip() or None
        except OSError:
            project = None
        self._projects[lb_id] = (project, time.monotonic() + PROJECT_RETRY)
        return project

    def _running(self) -> set[str]:
        """Load balancers with a state directory on this agent."""
        with contextlib.suppress(FileNotFoundError):
            running = {entry.name for entry in (Path(self.state_path) / "lbaas").iterdir()}
            for gone in set(self._projects) - running:
                del self._projects[gone]
            return running
        return set()


def _is_id(tag: str) -> bool:
    try:
        escaping.file_stem(tag, "log tag")
    except escaping.UnsafeConfigValue:
        return False
    return True
