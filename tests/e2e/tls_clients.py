"""TLS clients and TLS members of the end-to-end tests, shared by ``test_tls_dataplane.py``
(the driver alone) and ``test_traffic_tls.py`` (the whole stack through the API).

Not a test module. A lab host speaks with ``openssl s_client`` (which certificate is served
for a name) and ``curl`` (HTTP/1.1 or HTTP/2 through nghttp2, verified against a CA, with or
without a client certificate); :func:`tls_loop` opens verified TLS connections one after the
other from inside a namespace (run it with :meth:`tests.netlab.Host.call`); :func:`nginx` runs a
member that speaks TLS only. Certificates come from :mod:`tests.tls_material` and are written
as files into a directory the test owns.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from tests.netlab import Host
from tests.tls_material import Authority, Issued

NGINX = "/usr/sbin/nginx"


# --- files --------------------------------------------------------------------------------------


def write_pair(files: Path, name: str, issued: Issued) -> tuple[Path, Path]:
    """``<files>/<name>.crt`` (certificate and intermediates) and ``<name>.key`` (0600)."""
    cert, key = files / f"{name}.crt", files / f"{name}.key"
    cert.write_text(issued.cert_pem + issued.chain_pem)
    key.write_text(issued.key_pem)
    key.chmod(0o600)
    return cert, key


def write_ca(files: Path, authority: Authority) -> Path:
    """The CA's certificate as a PEM file (one per CA, named by its serial)."""
    path = files / f"ca-{authority.cert.serial_number}.pem"
    path.write_text(authority.cert_pem)
    return path


def client_cert_options(files: Path, name: str, issued: Issued) -> tuple[str, ...]:
    """``curl`` options presenting ``issued`` as the client certificate."""
    cert, key = write_pair(files, name, issued)
    return ("--cert", str(cert), "--key", str(key))


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


# --- clients ------------------------------------------------------------------------------------


def run_in(host: Host, argv: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in ``host`` (no stdin); any exit status is returned."""
    return subprocess.run([*host.exec_argv(), *argv], input="", capture_output=True, text=True,
                          timeout=timeout, check=False)


def served_cn(host: Host, vip: str, servername: str | None, *options: str,
              port: int = 443) -> str | None:
    """The CN of the certificate ``vip:port`` serves for ``servername`` (None: no SNI), or None
    when the handshake fails."""
    sni = ["-servername", servername] if servername else ["-noservername"]
    result = run_in(host, ["openssl", "s_client", "-connect", f"{vip}:{port}", *sni, *options])
    match = re.search(r"^subject=.*?CN ?= ?([^,/\n]+)", result.stdout, re.MULTILINE)
    if result.returncode != 0 or match is None:
        return None
    return match.group(1).strip()


@dataclass
class Answer:
    code: int  # 0: no HTTP answer
    version: str
    headers: dict[str, str]
    body: str
    error: str

    def backend(self) -> dict[str, Any]:
        """The JSON a traffic backend answered with (its name, the headers it got)."""
        return dict(json.loads(self.body))


def curl(host: Host, files: Path, vip: str, ca: Authority, *options: str, name: str,
         port: int = 443, path: str = "/") -> Answer:
    """GET ``https://<name>:<port><path>`` from ``host``, ``name`` resolved to ``vip``, trusting
    ``ca`` only."""
    out = Path(tempfile.mkdtemp(prefix="curl", dir=files))
    result = run_in(host, [
        "curl", "-sS", "--max-time", "10", "--resolve", f"{name}:{port}:{vip}",
        "--cacert", str(write_ca(files, ca)), "-D", str(out / "headers"),
        "-o", str(out / "body"), "-w", "%{http_code} %{http_version}", *options,
        f"https://{name}:{port}{path}"])
    code, _, version = result.stdout.partition(" ")
    headers: dict[str, str] = {}
    body = ""
    if (out / "headers").exists():
        for line in (out / "headers").read_text().splitlines()[1:]:
            key, _, value = line.partition(":")
            if value:
                headers[key.strip().lower()] = value.strip()
        body = (out / "body").read_text() if (out / "body").exists() else ""
    return Answer(int(code or 0), version, headers, body, result.stderr)


def tls_loop(stop: threading.Event, vip: str, name: str, cafile: str, interval: float,
             port: int = 443) -> dict[str, Any]:
    """New TLS connections to ``vip:port`` (verified against ``cafile`` for ``name``, one GET
    each) until ``stop``; run it in the client's namespace. Returns how many were made, the
    failures, and the serial number of the certificate each successful one was served."""
    ctx = ssl.create_default_context(cafile=cafile)
    done, failures, serials = 0, [], []
    while not stop.is_set():
        try:
            with socket.create_connection((vip, port), timeout=5) as raw, \
                    ctx.wrap_socket(raw, server_hostname=name) as conn:
                der = conn.getpeercert(binary_form=True)
                conn.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
                             .encode())
                reply = b""
                while chunk := conn.recv(65536):
                    reply += chunk
            if not reply.startswith(b"HTTP/1.1 200"):
                failures.append(reply[:80].decode(errors="replace"))
            elif der is not None:
                serials.append(x509.load_der_x509_certificate(der).serial_number)
        except (OSError, ssl.SSLError) as exc:
            failures.append(repr(exc))
        done += 1
        time.sleep(interval)
    return {"done": done, "failures": failures, "serials": serials}


# --- nginx members ------------------------------------------------------------------------------


def nginx(files: Path, host: Host, name: str, issued: Issued,
          client_ca: Authority | None = None, port: int = 443) -> None:
    """nginx on ``host:port`` serving TLS only with ``issued``, answering ``nginx <name>
    dn=<client certificate DN>``; with ``client_ca`` it requires a client certificate. It runs
    in the foreground and the host's lab stops it."""
    directory = files / f"nginx-{name}"
    directory.mkdir()
    cert, key = write_pair(files, f"nginx-{name}", issued)
    verify = ""
    if client_ca is not None:
        verify = (f"ssl_verify_client on; ssl_client_certificate {write_ca(files, client_ca)};")
    temp = " ".join(f"{kind}_temp_path {directory}/{kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (directory / "nginx.conf").write_text(f"""
worker_processes 1;
pid {directory}/nginx.pid;
error_log stderr;
events {{ worker_connections 256; }}
http {{
    access_log off;
    {temp}
    server {{
        listen {port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        {verify}
        location / {{ return 200 "nginx {name} dn=$ssl_client_s_dn\\n"; }}
    }}
}}
""")
    host.spawn([NGINX, "-c", str(directory / "nginx.conf"), "-p", str(directory),
                "-g", "daemon off; master_process off;"])

    def listening() -> bool:
        try:
            host.call(socket.create_connection, (host.address, port), 1.0).close()
        except OSError:
            return False
        return True

    assert wait_until(listening, 10), f"nginx {name} does not listen"
