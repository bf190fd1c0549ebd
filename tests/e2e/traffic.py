"""Helpers shared by the ``test_traffic_*`` end-to-end tests: backends that tell what they saw,
and clients that run inside a lab namespace.

Not a test module. Every feature is shown by traffic: a backend answers with a JSON document
(its name, the peer it saw, the request line and headers), keeps a log of the requests it got
(health checks included, fetched directly from the backend at ``/_log``) and can be told at
``/_control`` to fail its health path; a TCP echo server prefixes what it echoes with its name;
a black hole neither accepts nor refuses connections; HTTP and echo servers can speak TLS with a
throw-away self-signed certificate.

Client functions (``fetch``, ``fetch_names``, ``open_idle``...) are plain functions meant to be
run in a namespace with :meth:`tests.netlab.Host.call`; the wrappers ``get``/``names`` do that.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack, eventually
from tests.netlab import Host

BACKEND_SCRIPT = textwrap.dedent(
    r'''
    import argparse, json, socket, ssl, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--mode", choices=("http", "echo", "blackhole"), default="http")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--cookie")
    parser.add_argument("--health-path", default="/healthz")
    parser.add_argument("--health-code", type=int, default=200)
    parser.add_argument("--health-host")
    args = parser.parse_args()

    STATE = {"health_code": args.health_code, "health_delay": 0.0, "served": 0}
    LOG = []
    LOCK = threading.Lock()
    CTX = None
    if args.cert:
        CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        CTX.load_cert_chain(args.cert, args.key)


    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, doc, extra=()):
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/_log":
                with LOCK:
                    return self.reply(200, list(LOG))
            if url.path == "/_control":
                with LOCK:
                    if "health_code" in query:
                        STATE["health_code"] = int(query["health_code"])
                    if "health_delay" in query:
                        STATE["health_delay"] = float(query["health_delay"])
                    if "clear" in query:
                        LOG.clear()
                return self.reply(200, dict(STATE))
            entry = {"t": time.time(), "method": self.command, "path": self.path,
                     "version": self.request_version, "host": self.headers.get("Host"),
                     "peer": self.client_address[0]}
            with LOCK:
                LOG.append(entry)
                del LOG[:-2000]
            if url.path == args.health_path:
                time.sleep(STATE["health_delay"])
                code = STATE["health_code"]
                if args.health_host and self.headers.get("Host") != args.health_host:
                    code = 404
                return self.reply(code, {"name": args.name, "health": code})
            if url.path == "/slow":
                time.sleep(float(query.get("s", "2")))
            with LOCK:
                STATE["served"] += 1
                serial = STATE["served"]
            cookies = {}
            for part in (self.headers.get("Cookie") or "").split(";"):
                key, _, value = part.strip().partition("=")
                if key:
                    cookies[key] = value
            extra = []
            if args.cookie and args.cookie not in cookies:
                extra.append(("Set-Cookie", f"{args.cookie}={args.name}-{serial}; Path=/"))
            self.reply(200, {"name": args.name, "peer": self.client_address[0],
                             "method": self.command, "path": self.path,
                             "headers": {k.lower(): v for k, v in self.headers.items()},
                             "cookies": cookies, "tls": CTX is not None}, extra)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = handle_any


    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128
        allow_reuse_address = True

        def finish_request(self, request, client_address):
            if CTX is not None:
                try:
                    request.settimeout(10)
                    request = CTX.wrap_socket(request, server_side=True)
                except (OSError, ValueError):
                    return
            try:
                self.RequestHandlerClass(request, client_address, self)
            finally:
                if CTX is not None:
                    request.close()


    def echo(conn):
        try:
            if CTX is not None:
                conn = CTX.wrap_socket(conn, server_side=True)
            with conn:
                conn.settimeout(30)
                while True:
                    data = conn.recv(65536)
                    if not data:
                        return
                    conn.sendall(args.name.encode() + b":" + data)
        except (OSError, ValueError):
            pass


    if args.mode == "http":
        server = Server(("0.0.0.0", args.port), Handler)
        print("READY", flush=True)
        server.serve_forever()
    elif args.mode == "blackhole":
        # A listener whose accept queue is full and never drained: the kernel drops every
        # further SYN, so connections to it neither succeed nor fail; they hang.
        listener = socket.socket()
        listener.bind(("0.0.0.0", args.port))
        listener.listen(0)
        filler = socket.create_connection(("127.0.0.1", args.port))  # fills the queue
        print("READY", flush=True)
        while True:
            time.sleep(3600)
    else:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", args.port))
        listener.listen(128)
        print("READY", flush=True)
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=echo, args=(conn,), daemon=True).start()
    '''
)


# --- backends -----------------------------------------------------------------------------------


@dataclass
class Backend:
    """A lab host at ``10.241.0.<octet>`` with the servers started on it."""

    name: str
    host: Host
    servers: dict[int, subprocess.Popen[str]] = field(default_factory=dict)
    tls_ports: set[int] = field(default_factory=set)

    @property
    def address(self) -> str:
        return self.host.address

    def serve(self, port: int = 80, *, mode: str = "http", tls: TlsFiles | None = None,
              cookie: str | None = None, health_code: int = 200, health_host: str | None = None,
              health_path: str = "/healthz") -> Backend:
        """Start a server of this backend on ``port`` (and wait until it listens)."""
        argv = [sys.executable, "-c", BACKEND_SCRIPT, "--name", self.name, "--port", str(port),
                "--mode", mode, "--health-code", str(health_code), "--health-path", health_path]
        if tls is not None:
            argv += ["--cert", str(tls.cert), "--key", str(tls.key)]
            self.tls_ports.add(port)
        if cookie:
            argv += ["--cookie", cookie]
        if health_host:
            argv += ["--health-host", health_host]
        self.servers[port] = self.host.spawn(argv, ready_line="READY")
        return self

    def control(self, port: int = 80, **values: object) -> dict[str, Any]:
        """Change the health answer of the server on ``port`` (asked from inside its host)."""
        query = "&".join(f"{k}={v}" for k, v in values.items())
        reply = self.host.call(fetch, "127.0.0.1", port, f"/_control?{query}",
                               tls=port in self.tls_ports)
        assert reply.status == 200, reply
        return dict(reply.json())

    def log(self, port: int = 80, path: str | None = None) -> list[dict[str, Any]]:
        """Requests the server on ``port`` received (optionally only those for ``path``)."""
        entries = self.host.call(fetch, "127.0.0.1", port, "/_log",
                                 tls=port in self.tls_ports).json()
        return [e for e in entries if path is None or e["path"] == path]


def backend(stack: Stack, name: str, octet: int, port: int | None = 80, **kw: Any) -> Backend:
    """A new lab host ``name`` at ``10.241.0.<octet>``; with ``port``, an HTTP server on it."""
    host = stack.lab.host(name, stack.bridge, f"10.241.0.{octet}/24")
    stack.hosts[name] = host
    made = Backend(name, host)
    if port is not None:
        made.serve(port, **kw)
    return made


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.cert.read_text())


def self_signed(directory: Path, common_name: str) -> TlsFiles:
    """A throw-away self-signed certificate and key (openssl from the system)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / f"{common_name}.crt", directory / f"{common_name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={common_name}", "-keyout", str(files.key),
                    "-out", str(files.cert)], check=True, capture_output=True, timeout=60)
    return files


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


# --- API shortcuts --------------------------------------------------------------------------

VIP_OCTETS = (100, 101)
"""The VIPs of these tests are chosen, never allocated: an allocated VIP is a random address of
the subnet and could be one of the lab hosts' (a client connecting to itself is refused)."""


def create_lb(stack: Stack, body: dict[str, Any], vip_octet: int = VIP_OCTETS[0]
              ) -> dict[str, Any]:
    """:meth:`Stack.create_lb` with the VIP ``10.241.0.<vip_octet>``; waits until ACTIVE."""
    lb = stack.create_lb({"vip_address": f"10.241.0.{vip_octet}", **body})
    assert lb["provisioning_status"] == "ACTIVE", lb
    assert lb["vip_address"] == f"10.241.0.{vip_octet}"
    return lb



def members_by_name(stack: Stack, pool_id: str) -> dict[str, str]:
    return {m["name"]: m["id"] for m in
            stack.api.member.get(f"/pools/{pool_id}/members").json()["members"]}


def pool_ids(stack: Stack, lb: dict[str, Any]) -> dict[str, str]:
    """Pool name -> id of the load balancer's pools."""
    out = {}
    for ref in lb["pools"]:
        pool = stack.api.member.get(f"/pools/{ref['id']}").json()["pool"]
        out[pool["name"]] = pool["id"]
    return out


def listener_ids(stack: Stack, lb: dict[str, Any]) -> dict[int, str]:
    """protocol_port -> listener id."""
    out = {}
    for ref in lb["listeners"]:
        listener = stack.api.member.get(f"/listeners/{ref['id']}").json()["listener"]
        out[int(listener["protocol_port"])] = listener["id"]
    return out


def update(stack: Stack, lb_id: str, path: str, key: str, values: dict[str, Any]) -> None:
    """PUT ``{key: values}`` to ``path`` and wait until the load balancer is ACTIVE again."""
    r = stack.api.member.put(path, {key: values})
    assert r.status_code == 202, r.text
    lb = stack.wait_lb(lb_id)
    assert lb["provisioning_status"] == "ACTIVE", lb


def wait_status(stack: Stack, pool_id: str, member_id: str, status: str,
                timeout: float = 20) -> None:
    eventually(lambda: stack.member_status(pool_id, member_id) == status, timeout)


def member(name: str, octet: int, port: int = 80, **kw: Any) -> dict[str, Any]:
    return {"name": name, "address": f"10.241.0.{octet}", "protocol_port": port, **kw}


FAST_HTTP_MONITOR = {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1,
                     "max_retries_down": 1, "url_path": "/healthz"}
"""Checks every second; one failure takes a member out, one success brings it back."""
