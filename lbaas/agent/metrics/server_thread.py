"""A socketserver serving on a thread of its own, stopped cleanly.

Used by the agent's two HTTP services: the Prometheus endpoint for operators
(:mod:`lbaas.agent.metrics.endpoint`) and the service behind PROMETHEUS listeners
(:mod:`lbaas.agent.metrics.prometheus_listener`), whose servers mix in :class:`QuietDisconnects`.
"""

from __future__ import annotations

import logging
import socketserver
import sys
import threading
from typing import Generic, TypeVar

LOG = logging.getLogger(__name__)

S = TypeVar("S", bound=socketserver.BaseServer)


class ServerThread(Generic[S]):
    """Runs ``server.serve_forever`` on a daemon thread named ``name``."""

    def __init__(self, server: S, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the listening socket and wait for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


class QuietDisconnects:
    """Mixed into a socketserver: a client that hangs up mid-answer (a scrape timing out) is
    a debug line, and any other error a logged exception, never a traceback on stderr."""

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            LOG.debug("a client hung up before its answer was sent: %s", error)
        else:
            LOG.exception("error while answering a request")
