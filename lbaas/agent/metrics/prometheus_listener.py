"""The agent's service behind PROMETHEUS listeners: one load balancer's metrics, Octavia's names.

A PROMETHEUS listener's frontend (rendered by :mod:`lbaas.drivers.haproxy.view_frontends`)
rewrites every request's path to ``/loadbalancers/<its load balancer id>`` and forwards it to this
agent's UNIX socket (:func:`lbaas.drivers.haproxy.state_paths.listener_metrics_socket`, mode
0600 in a 0700 directory): haproxy, not the client, says which load balancer is asked, so a
tenant only ever sees the metrics of the load balancer it reached. For each request the service
scrapes that load balancer's exporter socket (:func:`lbaas.drivers.haproxy.exporter.scrape`)
and answers the series renamed by :mod:`lbaas.drivers.haproxy.octavia_metrics`, with the CPU
and memory its haproxy processes use.

As Octavia's proxy: any path answers GET, other methods get 501, a failed scrape 502. The agent
being down leaves haproxy without a server: 503. Started and stopped by
:class:`lbaas.agent.service.AgentService`.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import re
import socketserver
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from lbaas.agent.metrics.server_thread import QuietDisconnects, ServerThread
from lbaas.drivers.haproxy import exporter, octavia_metrics
from lbaas.drivers.haproxy.master_cli import show_proc
from lbaas.drivers.haproxy.state_paths import StatePaths, listener_metrics_socket
from lbaas.drivers.haproxy.view_metrics import METRICS_PATH_PREFIX

__all__ = ["ProcessMeter", "PrometheusListenerService"]

LOG = logging.getLogger(__name__)

_PATH_RE = re.compile(re.escape(METRICS_PATH_PREFIX) + r"([A-Za-z0-9][A-Za-z0-9_.-]{0,127})")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SCRAPE_TIMEOUT = 5.0


class ProcessMeter:
    """CPU (percent of one CPU, since the previous look at the same process; since its start
    the first time) and memory (resident, percent of the host's) of sets of processes."""

    def __init__(self) -> None:
        self._processes: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()

    def usage(self, pids: list[int]) -> octavia_metrics.Usage:
        cpu = rss = 0.0
        with self._lock:
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    process, fresh = self._process(pid)
                    if fresh:
                        times = process.cpu_times()
                        alive = max(time.time() - process.create_time(), 1e-3)
                        process.cpu_percent(None)  # the baseline of the next look
                        cpu += (times.user + times.system) / alive * 100
                    else:
                        cpu += process.cpu_percent(None)
                    rss += process.memory_info().rss
            for gone in set(self._processes) - set(pids):
                del self._processes[gone]
        total = psutil.virtual_memory().total
        return octavia_metrics.Usage(cpu=cpu, memory=rss / total * 100)

    def _process(self, pid: int) -> tuple[psutil.Process, bool]:
        known = self._processes.get(pid)
        if known is not None and known.is_running():
            return known, False
        process = self._processes[pid] = psutil.Process(pid)
        return process, True


class _Server(QuietDisconnects, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, state_path: Path, meter: ProcessMeter) -> None:
        self.state_path = state_path
        self.meter = meter
        super().__init__(path, _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        match = _PATH_RE.fullmatch(urlsplit(self.path).path)
        paths = None
        if match is not None:
            paths = StatePaths.for_load_balancer(self.server.state_path, match.group(1))
        if paths is None or not paths.directory.is_dir():
            self._answer(404, b"")
            return
        try:
            text = exporter.scrape(str(paths.metrics_socket), timeout=SCRAPE_TIMEOUT)
            info = show_proc(paths.master_socket)
            pids = [] if info is None else [info.master_pid, *(p for p, _ in info.workers)]
            body = octavia_metrics.render(text, self.server.meter.usage(pids))
        except (OSError, exporter.ExporterError, ValueError) as exc:
            LOG.warning("PROMETHEUS listener of load balancer %s: scrape failed: %s",
                        match.group(1) if match else "?", exc)
            self._answer(502, b"")
            return
        self._answer(200, body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("PROMETHEUS listener request: " + format, *args)

    def address_string(self) -> str:
        return "haproxy"  # a UNIX socket's peer has no address


class PrometheusListenerService:
    """The agent's HTTP service on :func:`listener_metrics_socket` (one thread per request)."""

    def __init__(self, state_path: str | os.PathLike[str]) -> None:
        self.state_path = Path(state_path).absolute()
        self.socket_path = listener_metrics_socket(state_path)
        self._serving: ServerThread[_Server] | None = None

    def start(self) -> None:
        directory = self.socket_path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)  # no one else may even reach the socket
        self.socket_path.unlink(missing_ok=True)  # left by an agent that died
        server = _Server(str(self.socket_path), self.state_path, ProcessMeter())
        os.chmod(self.socket_path, 0o600)
        self._serving = ServerThread(server, "lbaas-agent-prometheus-listener")
        LOG.info("serving PROMETHEUS listeners on %s", self.socket_path)

    def stop(self) -> None:
        if self._serving is None:
            return
        self._serving.stop()
        self.socket_path.unlink(missing_ok=True)
        self._serving = None
