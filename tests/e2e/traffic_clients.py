"""Clients of the ``test_traffic_*`` end-to-end tests, run inside a lab namespace.

Not a test module. Client functions (``fetch``, ``fetch_many``, ``open_idle``...) are plain
functions meant to be run in a namespace with :meth:`tests.netlab.Host.call`; the wrappers
``get``/``names``/``is_refused`` do that, and ``in_background`` runs a call in a thread.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.netlab import Host

# --- clients (functions run inside a namespace with Host.call) ----------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    peer_cert: bytes | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def name(self) -> str:
        """The answering backend's name (or ``<status>`` when it is not a backend's answer)."""
        try:
            return str(self.json()["name"])
        except (ValueError, KeyError, TypeError):
            return f"<{self.status}>"


def _rst_close(sock: socket.socket | None) -> None:
    """Close with RST: no TIME_WAIT, so the same source port can connect again at once."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def fetch(host: str, port: int = 80, path: str = "/", *, method: str = "GET",
          headers: dict[str, str] | None = None, timeout: float = 5.0,
          source_port: int | None = None, tls: bool = False) -> Reply:
    """One request on a new connection (any status is returned, not raised).

    With ``source_port`` the connection comes from that port and is reset when done (no
    TIME_WAIT), so the same port can be used again at once."""
    if source_port:
        return _fetch_from_port(host, port, path, source_port, headers or {}, timeout)
    conn: http.client.HTTPConnection
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, headers={"Connection": "close", **(headers or {})})
        cert = None
        if tls and isinstance(conn.sock, ssl.SSLSocket):
            cert = conn.sock.getpeercert(binary_form=True)
        response = conn.getresponse()
        body = response.read().decode()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body,
                     cert)
    finally:
        conn.close()


def _fetch_from_port(host: str, port: int, path: str, source_port: int,
                     headers: dict[str, str], timeout: float) -> Reply:
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.settimeout(timeout)
        sock.bind(("", source_port))
        sock.connect((host, port))
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = sock
        conn.request("GET", path, headers=headers)  # keep-alive: we reset the connection
        response = conn.getresponse()
        body = response.read().decode()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        _rst_close(sock)


def fetch_many(host: str, port: int, count: int, path: str = "/", **kw: Any) -> list[Reply]:
    return [fetch(host, port, path, **kw) for _ in range(count)]


def tcp_exchange(host: str, port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Connect, send ``data``, return what comes back before the peer is quiet or closes."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"".join(chunks).endswith(data):
                break
        return b"".join(chunks)


def open_idle(host: str, port: int, timeout: float = 5.0) -> socket.socket:
    """An established TCP connection that has sent nothing (the socket stays in its namespace)."""
    return socket.create_connection((host, port), timeout=timeout)


def refused(host: str, port: int = 80, timeout: float = 3.0) -> bool:
    """True if a request to ``host:port`` gets no HTTP answer (refused, reset or closed)."""
    try:
        fetch(host, port, timeout=timeout)
    except (OSError, http.client.HTTPException):
        return True
    return False


# --- wrappers for tests ---------------------------------------------------------------------


def get(client: Host, vip: str, port: int = 80, path: str = "/", **kw: Any) -> Reply:
    return client.call(fetch, vip, port, path, **kw)


def names(client: Host, vip: str, count: int, port: int = 80, path: str = "/",
          **kw: Any) -> list[str]:
    """Which backend answered each of ``count`` new connections."""
    return [r.name for r in client.call(fetch_many, vip, port, count, path, **kw)]


def is_refused(client: Host, vip: str, port: int = 80) -> bool:
    return client.call(refused, vip, port)


@contextlib.contextmanager
def in_background(call: Callable[[], Any]) -> Iterator[dict[str, Any]]:
    """Run ``call`` in a thread; yields a dict that gets ``result``/``error`` when it ends, and
    waits for it when the block is left."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:  # reported to the test through outcome
            outcome["error"] = exc
        finally:
            outcome["end"] = time.monotonic()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(30)
