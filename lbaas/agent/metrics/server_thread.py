"""A socketserver serving on a thread of its own, stopped cleanly.

Used by the agent's two HTTP services: the Prometheus endpoint for operators
(:mod:`lbaas.agent.metrics.endpoint`) and the service behind PROMETHEUS listeners
(:mod:`lbaas.agent.metrics.prometheus_listener`).
"""

from __future__ import annotations

import socketserver
import threading
from typing import Generic, TypeVar

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
