"""The agent's HTTP endpoint for Prometheus: ``GET /metrics`` on ``[agent] metrics_listen``.

Started and stopped by :class:`lbaas.agent.service.AgentService`; what it serves comes from
:meth:`lbaas.agent.metrics.collector.MetricsCollector.collect`. Plain HTTP. With a scrape token
(``[metrics] token_file``) only ``Authorization: Bearer <token>`` is served (401 otherwise);
without one anyone reaching the address may read every project's series: bind it to loopback.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lbaas.agent.metrics.server_thread import QuietDisconnects, ServerThread
from lbaas.core.scrape_token import MISSING, WRONG, ScrapeToken, bearer

LOG = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CHALLENGE = 'Bearer realm="lbaas-agent-metrics"'


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` or ``[v6 address]:port`` -> (host, port). Raises ValueError."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"[agent] metrics_listen must be host:port, not {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


class _Server(QuietDisconnects, ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class MetricsEndpoint:
    """An HTTP server on its own thread; :attr:`address` is where it listens once started."""

    def __init__(self, listen: str, render: Callable[[], bytes],
                 token: ScrapeToken | None = None) -> None:
        """Raises ValueError when ``listen`` is not ``host:port``. With ``token``, a request
        must bear it."""
        self._where = parse_listen(listen)
        self._render = render
        self._token = token
        self._serving: ServerThread[_Server] | None = None

    @property
    def address(self) -> str | None:
        """``host:port`` bound (the real port when 0 was asked), None when not serving."""
        if self._serving is None:
            return None
        host, port = self._serving.server.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"

    def start(self) -> None:
        """Bind and serve. Raises OSError when the address cannot be bound."""
        host, port = self._where
        server_class = _Server6 if ":" in host else _Server
        self._serving = ServerThread(server_class((host, port), self._handler()),
                                     "lbaas-agent-metrics")

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        render = self._render
        token = self._token

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/metrics":
                    self._answer(404, b"not found: try /metrics\n", "text/plain")
                    return
                if token is not None:
                    given = bearer(self.headers.get("Authorization"))
                    if given is None or not token.matches(given):
                        self._answer(401, f"{MISSING if given is None else WRONG}\n".encode(),
                                     "text/plain", {"WWW-Authenticate": CHALLENGE})
                        return
                try:
                    body = render()
                except Exception:
                    LOG.exception("cannot collect the agent's metrics")
                    self._answer(500, b"cannot collect the metrics (see the agent's log)\n",
                                 "text/plain")
                    return
                self._answer(200, body, CONTENT_TYPE)

            def _answer(self, status: int, body: bytes, content_type: str,
                        headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                LOG.debug("metrics endpoint: " + format, *args)

        return Handler
