"""Backends of the ``test_traffic_*`` end-to-end tests: lab hosts whose servers tell what they saw.

Not a test module. A backend answers with a JSON document (its name, the peer it saw, the request
line and headers), keeps a log of the requests it got (health checks included, fetched directly
from the backend at ``/_log``) and can be told at ``/_control`` to fail its health path; a TCP
echo server prefixes what it echoes with its name; a black hole neither accepts nor refuses
connections; HTTP and echo servers can speak TLS with a throw-away self-signed certificate.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack
from tests.e2e.traffic_clients import fetch
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
    parser.add_argument("--bind", default="0.0.0.0")
    args = parser.parse_args()
    FAMILY = socket.AF_INET6 if ":" in args.bind else socket.AF_INET  # "::" takes IPv4 too

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
        address_family = FAMILY
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
        server = Server((args.bind, args.port), Handler)
        print("READY", flush=True)
        server.serve_forever()
    elif args.mode == "blackhole":
        # A listener whose accept queue is full and never drained: the kernel drops every
        # further SYN, so connections to it neither succeed nor fail; they hang.
        listener = socket.socket(FAMILY)
        listener.bind((args.bind, args.port))
        listener.listen(0)
        filler = socket.create_connection(("127.0.0.1", args.port))  # fills the queue
        print("READY", flush=True)
        while True:
            time.sleep(3600)
    else:
        listener = socket.socket(FAMILY)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((args.bind, args.port))
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
    """A lab host (at ``10.241.0.<octet>``, or an IPv6 address) with the servers started on
    it; they bind the host's wildcard address (``::`` on an IPv6 host, which takes IPv4 too)."""

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
                "--mode", mode, "--health-code", str(health_code), "--health-path", health_path,
                "--bind", self.host.any_address]
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
