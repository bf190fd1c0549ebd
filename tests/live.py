"""Run an ASGI application for real: uvicorn on ``127.0.0.1:<free port>`` in a background thread.

Tests that drive the server with real clients (the ``openstack`` CLI in a subprocess,
openstacksdk, plain HTTP) need a socket to talk to, not an in-process ``TestClient``::

    with run_live_server(create_app(conf, services)) as base_url:
        httpx.get(f"{base_url}/healthcheck")

The listening socket is bound before the thread starts (port 0, so there is no race for a "free"
port), the application's lifespan runs (``lifespan="on"``), the context manager only yields once
``/healthcheck`` answers 200, and the server is stopped and its thread joined on the way out,
whether the body succeeded or raised.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import httpx
import uvicorn


class LiveServerError(RuntimeError):
    """The live server could not start (or did not stop) in time."""


class _ThreadedServer(uvicorn.Server):
    """A uvicorn server that remembers why its thread ended, if it ended early."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.failure: BaseException | None = None

    def run_in_thread(self, sockets: list[socket.socket]) -> None:
        """Thread target: serve until ``should_exit``; keep any exception for the caller."""
        try:
            self.run(sockets=sockets)
        except BaseException as exc:  # SystemExit on a failed lifespan startup, too
            self.failure = exc


def _bind(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.set_inheritable(False)
    return sock


def _wait_healthy(server: _ThreadedServer, thread: threading.Thread, url: str,
                  timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: str = "no answer yet"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if not thread.is_alive():
                raise LiveServerError(f"live server thread ended during startup: "
                                      f"{server.failure!r}") from server.failure
            if server.started:
                try:
                    r = client.get(url)
                    if r.status_code == 200:
                        return
                    last = f"HTTP {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
            time.sleep(0.02)
    raise LiveServerError(f"{url} did not answer 200 within {timeout}s (last: {last})")


@contextmanager
def run_live_server(app: Any, host: str = "127.0.0.1", health_path: str = "/healthcheck",
                    startup_timeout: float = 20.0, stop_timeout: float = 10.0,
                    log_level: str = "warning",
                    lifespan: Literal["auto", "on", "off"] = "on") -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yield its base URL (no trailing slash).

    :param app: an ASGI application (e.g. ``lbaas.api.app.create_app(conf, services)``).
    :param health_path: polled until it answers 200 before the URL is handed out.
    :param lifespan: "off" for a second server on services an in-process ``TestClient``
        already started (their background tasks must not run twice).
    :raises LiveServerError: the server did not come up in ``startup_timeout`` seconds or
        did not stop within ``stop_timeout`` seconds (even after a forced exit).
    """
    sock = _bind(host)
    port = sock.getsockname()[1]
    base_url = f"http://{host}:{port}"
    config = uvicorn.Config(app, lifespan=lifespan, log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=max(1, int(stop_timeout / 2)))
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run_in_thread, args=([sock],),
                              name=f"live-server-{port}", daemon=True)
    thread.start()
    try:
        _wait_healthy(server, thread, f"{base_url}{health_path}", startup_timeout)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(stop_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(stop_timeout)
        sock.close()
        if thread.is_alive():
            raise LiveServerError(f"live server on {base_url} did not stop in "
                                  f"{2 * stop_timeout}s")
