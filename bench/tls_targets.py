"""The two TLS-terminating targets of ``bench.tls`` and what it reads from them: the benchmark's
certificate (:func:`bench_certificate`), the lbaas side (the certificate stored as a PKCS12
secret in lbaas's Barbican-compatible secret store, :func:`store_secret`, and a load balancer
tree with a TERMINATED_HTTPS listener naming it, :func:`tls_tree`), a check that a target
answers over HTTPS from every backend (:func:`wait_https`), and haproxy's TLS counters from a
stats socket (:func:`ssl_counters`: full handshakes, resumed ones, failed ones, summed over the
frontends).

Used by ``bench.tls`` only.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import socket
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.stack import full_tree
from lbaas.drivers.haproxy.stats import socket_command
from tests.netlab import Host
from tests.tls_material import Authority, Issued

if TYPE_CHECKING:
    from tests.functional.harness import Api

CERT_NAME = "bench.example"
SECRETS_PATH = "/key-manager/v1/secrets"
TLS_PORT = 443


def bench_certificate(*, use_rsa: bool) -> Issued:
    """A server certificate for :data:`CERT_NAME` from a throwaway CA: an ECDSA P-256 key, or
    an RSA 2,048-bit one (the certificate's key decides what a full handshake costs the server;
    the CA's is only checked by clients, and ours do not check)."""
    authority = Authority.create("lbaas bench CA", use_rsa=use_rsa)
    return authority.issue(CERT_NAME, use_rsa=use_rsa)


def write_pem(issued: Issued, path: Path) -> Path:
    """The certificate and key in one PEM for haproxy's ``crt`` (mode 0600)."""
    path.touch(mode=0o600)
    path.write_text(issued.bundle_pem)
    return path


def store_secret(api: Api, issued: Issued, name: str = "bench-tls") -> str:
    """Store the PKCS12 bundle of ``issued`` (no passphrase) through the API's secret store, as
    the project's member; returns its ``secret_ref``."""
    caller = api.member
    body = {"name": name,
            "payload": base64.b64encode(issued.pkcs12()).decode(),
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64"}
    r = caller.client.post(SECRETS_PATH, json=body, headers={"X-Auth-Token": caller.token})
    if r.status_code != 201:
        raise RuntimeError(f"storing the certificate failed: {r.status_code} {r.text}")
    return str(r.json()["secret_ref"])


def tls_tree(members: Sequence[tuple[str, int]], secret_ref: str) -> dict[str, Any]:
    """``bench.stack.full_tree`` (round-robin HTTP pool with an HTTP health monitor) behind a
    TERMINATED_HTTPS listener on :data:`TLS_PORT` serving ``secret_ref``; no ciphers, versions
    or ALPN given, so haproxy's defaults apply."""
    tree = full_tree(members, name="bench-tls", port=TLS_PORT)
    tree["listeners"][0].update(protocol="TERMINATED_HTTPS",
                                default_tls_container_ref=secret_ref)
    return tree


def _https_body(ip: str, port: int, context: ssl.SSLContext) -> str | None:
    try:
        with socket.create_connection((ip, port), timeout=1) as raw, \
                context.wrap_socket(raw, server_hostname=CERT_NAME) as tls:
            tls.settimeout(1)
            tls.sendall(b"GET / HTTP/1.0\r\nHost: " + CERT_NAME.encode() + b"\r\n\r\n")
            chunks = []
            while chunk := tls.recv(4096):
                chunks.append(chunk)
    except OSError:
        return None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return body.decode().strip() if head.startswith(b"HTTP/1.1 200") else None


def wait_https(host: Host, ip: str, bodies: Sequence[str], *, port: int = TLS_PORT,
               timeout: float = 30.0) -> None:
    """Wait until HTTPS requests from ``host`` to ``ip:port`` have been answered with each of
    ``bodies`` (every backend reached through the TLS listener); TimeoutError otherwise."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout

    def loop() -> None:
        seen: set[str] = set()
        while not seen.issuperset(bodies):
            if time.monotonic() > deadline:
                raise TimeoutError(f"https://{ip}:{port}/ answered only {sorted(seen)}, "
                                   f"not {sorted(bodies)}, within {timeout:g} s")
            body = _https_body(ip, port, context)
            if body is None:
                time.sleep(0.05)
            else:
                seen.add(body)

    host.call(loop)


@dataclasses.dataclass(frozen=True)
class SslCounters:
    """haproxy's TLS counters of its frontends (``show stat``: ``ssl_sess``,
    ``ssl_reused_sess``, ``ssl_failed_handshake``)."""

    full: int = 0
    resumed: int = 0
    failed: int = 0

    def __sub__(self, other: SslCounters) -> SslCounters:
        return SslCounters(self.full - other.full, self.resumed - other.resumed,
                           self.failed - other.failed)


def ssl_counters(stats_socket: Path) -> SslCounters:
    """The TLS counters summed over every frontend of the haproxy behind ``stats_socket``."""
    text = socket_command(str(stats_socket), "show stat").lstrip("# ")
    full = resumed = failed = 0
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("svname") != "FRONTEND":
            continue
        full += int(row.get("ssl_sess") or 0)
        resumed += int(row.get("ssl_reused_sess") or 0)
        failed += int(row.get("ssl_failed_handshake") or 0)
    return SslCounters(full, resumed, failed)
