"""Read HAProxy's built-in Prometheus exporter of one load balancer.

Every haproxy.cfg the agent renders has a frontend (:data:`.view.EXPORTER_FRONTEND`) serving
``prometheus-exporter`` on a UNIX socket of the load balancer's state (:class:`.state_paths.
StatePaths.metrics_socket`, mode 0600), never on the network. The agent's metrics (operators)
and PROMETHEUS listeners (tenants) read it through :func:`scrape`, one HTTP/1.0 request each.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterable
from urllib.parse import urlencode

DEFAULT_TIMEOUT = 5.0
ALL_SCOPES = ("global", "frontend", "backend", "server")


class ExporterError(Exception):
    """The exporter answered something other than its metrics (the text is its status line)."""


def scrape(
    socket_path: str,
    *,
    scopes: Iterable[str] = ALL_SCOPES,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """The exporter's text (Prometheus exposition format 0.0.4) for the given ``scopes``.

    Raises OSError when the socket cannot be reached (no haproxy, or one being replaced) and
    :class:`ExporterError` on an answer other than 200.
    """
    query = urlencode([("scope", scope) for scope in scopes])
    request = f"GET /metrics?{query} HTTP/1.0\r\nHost: lbaas\r\n\r\n".encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(request)
        # http.client reads the body whatever its framing: haproxy sends it chunked.
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    if response.status != 200:
        raise ExporterError(
            f"exporter at {socket_path} answered {response.status} {response.reason}"
        )
    return body.decode(errors="replace")
