"""The agent's log socket: haproxy's lines in, access logs and admin events out.

:class:`AccessLogService` binds the datagram UNIX socket every haproxy.cfg of this agent logs to
(:func:`lbaas.drivers.haproxy.logs.log_socket_path`, mode 0600) and reads it from one thread:

* an access line (:func:`~lbaas.drivers.haproxy.logs.parse_access`) of load balancer ``<tag>``
  becomes one JSON line with the ``[access_log] fields``, written to its file (:mod:`.files`)
  and queued for the syslog targets (:mod:`.forwarder`). The project id is the one the device
  driver wrote next to haproxy.cfg (``project_id`` in the state directory);
* a health-check transition becomes a JSON line of the ``lbaas.admin`` logger with
  ``event=member_status`` and the load balancer, pool and member ids;
* anything else is ignored (haproxy's start and reload notices) and a line that does not parse
  is counted, never fatal.

The same thread prunes the logs of deleted load balancers every :data:`PRUNE_INTERVAL`.
Started and stopped by :mod:`lbaas.agent.service`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oslo_config import cfg

from lbaas.agent.access_logs.files import AccessLogFiles
from lbaas.agent.access_logs.forwarder import SyslogForwarder
from lbaas.core.admin_events import Event, admin_event
from lbaas.drivers.haproxy import escaping, logs
from lbaas.drivers.haproxy.namespace_driver import PROJECT_FILE
from lbaas.drivers.haproxy.state_paths import StatePaths

LOG = logging.getLogger(__name__)

RECEIVE_BUFFER = 4 * 1024 * 1024
MAX_DATAGRAM = 65536
PRUNE_INTERVAL = 300.0
PROJECT_RETRY = 10.0
IDLE_WAIT = 0.005  # seconds; at 20,000 lines/s, 100 datagrams queue meanwhile (DGRAM_QUEUE)
DGRAM_QUEUE = 1024
"""net.unix.max_dgram_qlen at least this: datagrams a socket queues before haproxy's sends
fail (and haproxy drops the line). The kernel's default, 10, loses lines at a few thousand
requests per second."""
_DGRAM_QLEN = Path("/proc/sys/net/unix/max_dgram_qlen")
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


@dataclass
class ReceiverCounters:
    access_lines: int = 0
    events: int = 0
    unparsed: int = 0


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
        """Bind the socket (replacing a stale one) and start reading."""
        _raise_dgram_qlen()
        self.socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        old = os.umask(0o177)  # the socket is born 0600
        try:
            sock.bind(str(self.socket_path))
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o600)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
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
        sock = self._sock
        next_prune = time.monotonic()
        while not self._stop.is_set():
            try:
                datagram = sock.recv(MAX_DATAGRAM)  # non-blocking: no poll() per line
            except BlockingIOError:
                datagram = None
            except OSError as exc:
                LOG.error("log socket %s failed: %s", self.socket_path, exc)
                return
            try:
                if datagram is not None:
                    self.handle(datagram)
                    continue
                self.files.flush()  # idle: what was written reaches the files
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_INTERVAL
                    self.files.prune(self._running())
            except Exception:
                LOG.exception("cannot handle a haproxy log line")
            # Idle: sleep rather than wait for the next datagram, so that haproxy's sends do
            # not wake this thread one by one (lines queue in the socket meanwhile).
            self._stop.wait(IDLE_WAIT)

    # -- one datagram --------------------------------------------------------------------------

    def handle(self, datagram: bytes) -> None:
        """Handle one datagram from haproxy (see the module docstring)."""
        message = logs.parse_syslog(datagram)
        if message is None or not _is_id(message.tag):
            self.counters.unparsed += 1
            return
        lb_id = message.tag
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


def _raise_dgram_qlen() -> None:
    """Best effort: a longer datagram queue for every UNIX socket of this network namespace."""
    try:
        if int(_DGRAM_QLEN.read_text()) < DGRAM_QUEUE:
            _DGRAM_QLEN.write_text(str(DGRAM_QUEUE))
    except (OSError, ValueError) as exc:
        LOG.warning("cannot raise %s to %d (%s): haproxy may drop log lines under load",
                    _DGRAM_QLEN, DGRAM_QUEUE, exc)
