"""The TLS files of one load balancer's haproxy: certificates with their keys, crt-lists, and the
CA and CRL files of listeners (client authentication) and pools (re-encryption).

Called by the device driver (:mod:`.namespace_driver`) in three steps around each apply:

1. :func:`plan_tls_files` (pure, before rendering) decides every file's name and content from the
   tree; the view builder (:mod:`.view_frontends`, :mod:`.view_backends`) takes the paths from
   the plan. Anything that cannot be written safely raises :class:`.escaping.UnsafeConfigValue`.
2. :func:`write_tls_files` writes the planned files into ``<state dir>/certs/`` (0700; files
   0600) before ``haproxy -c`` reads them.
3. :func:`prune_tls_files`, once haproxy runs the new config, removes the files it no longer
   names.

Every name is content-addressed (a certificate's ``<id>.<sha256>.pem``, a listener's
``<listener id>.<sha256>.crt-list``, ``ca.<sha256>.pem``, ``crl.<sha256>.pem``): a new
certificate gets a new file and the running config still points at the old, intact one, so a
config ``haproxy -c`` refuses (or a failed reload) leaves the running haproxy's files as they
were. The same tree gives the same names, so both copies of an ACTIVE_STANDBY pair render the
same config.

A crt-list names certificate files only, the default certificate first, then the SNI ones: no
SNI filter and no per-certificate option. haproxy reads the names a certificate serves from the
certificate itself, and no text of a certificate (CN, SAN) reaches a generated file other than
the certificate's own PEM.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lbaas.core.tree import CertificateNode, ListenerNode, LoadBalancerTree, PoolNode
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.view_selection import rendered_pools, served_listeners, terminates_tls

__all__ = [
    "CLIENT_AUTH_VERIFY",
    "ListenerFiles",
    "PoolFiles",
    "TlsFiles",
    "plan_tls_files",
    "prune_tls_files",
    "write_tls_files",
]

CLIENT_AUTH_VERIFY = {"OPTIONAL": "optional", "MANDATORY": "required"}
"""client_authentication -> the bind line's ``verify``; NONE asks for no client certificate."""

DIGEST_CHARS = 32  # hex characters of the SHA-256 in a file name (128 bits)
# The certs directory is written bare into crt-lists (one path per line, no quoting there).
_DIRECTORY_RE = re.compile(r"/[A-Za-z0-9/_.-]{1,1000}")
_PEM_CERT = "-----BEGIN CERTIFICATE-----"
_PEM_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
_PEM_CRL = "-----BEGIN X509 CRL-----"


@dataclass(frozen=True)
class ListenerFiles:
    """Absolute paths of a TERMINATED_HTTPS listener's files (None: not used)."""

    crt_list: str
    client_ca: str | None = None
    client_crl: str | None = None


@dataclass(frozen=True)
class PoolFiles:
    """Absolute paths of a re-encrypting pool's files (None: not used)."""

    ca: str | None = None
    crl: str | None = None
    client_cert: str | None = None


@dataclass(frozen=True)
class TlsFiles:
    """Every TLS file of one load balancer: names and contents, and who uses which."""

    directory: Path
    contents: dict[str, str] = field(default_factory=dict)
    """file name (in :attr:`directory`) -> text"""
    listeners: dict[str, ListenerFiles] = field(default_factory=dict)
    pools: dict[str, PoolFiles] = field(default_factory=dict)

    def __repr__(self) -> str:  # the contents hold private keys
        return f"TlsFiles({self.directory}, {sorted(self.contents)})"


def plan_tls_files(tree: LoadBalancerTree, directory: str | os.PathLike[str]) -> TlsFiles:
    """The TLS files ``tree`` needs in ``directory`` (the load balancer's ``certs/``): one per
    served TERMINATED_HTTPS listener and rendered pool with ``tls_enabled``. Pure."""
    path = os.fspath(directory)
    if not _DIRECTORY_RE.fullmatch(path) or "/../" in f"{path}/":
        raise UnsafeConfigValue(f"certificate directory must be a plain absolute path: {path!r}")
    plan = TlsFiles(Path(path))
    for listener in served_listeners(tree):
        if terminates_tls(listener):
            plan.listeners[listener.id] = _plan_listener(plan, listener)
    for pool in rendered_pools(tree.pools).values():
        if pool.tls_enabled:
            plan.pools[pool.id] = _plan_pool(plan, pool)
    return plan


def _add(plan: TlsFiles, stem: str, suffix: str, text: str) -> str:
    """Plan ``text`` as ``<stem>.<digest><suffix>``; returns its absolute path."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]
    name = f"{stem}.{digest}{suffix}"
    plan.contents[name] = text
    return str(plan.directory / name)


def _pem(text: str | None, marker: str, what: str) -> str:
    if not isinstance(text, str) or marker not in text:
        raise UnsafeConfigValue(f"{what} is not PEM text with {marker}")
    return text.strip() + "\n"


def _certificate(plan: TlsFiles, cert: CertificateNode, what: str) -> str:
    """The certificate's PEM file (certificate, intermediates, key); returns its path."""
    stem = esc.file_stem(cert.id, f"{what} id")
    certificate = _pem(cert.certificate, _PEM_CERT, f"{what} {stem!r}")
    key = cert.private_key.get_secret_value()
    if not isinstance(key, str) or not _PEM_KEY.search(key):
        raise UnsafeConfigValue(f"the private key of {what} {stem!r} is not a PEM private key")
    return _add(plan, stem, ".pem", certificate + key.strip() + "\n")


def _plan_listener(plan: TlsFiles, listener: ListenerNode) -> ListenerFiles:
    listener_id = esc.file_stem(listener.id, "listener id")
    # Octavia's rule: a default certificate or SNI ones; without a default, the first SNI
    # certificate is the one served to clients whose name matches none.
    if listener.default_tls is None and not listener.sni_tls:
        raise UnsafeConfigValue(
            f"TERMINATED_HTTPS listener {listener_id!r} has no certificate"
        )
    certificates = ([] if listener.default_tls is None
                    else [_certificate(plan, listener.default_tls, "certificate")])
    certificates += [_certificate(plan, cert, "SNI certificate") for cert in listener.sni_tls]
    crt_list = "".join(f"{path}\n" for path in dict.fromkeys(certificates))
    files = ListenerFiles(_add(plan, listener_id, ".crt-list", crt_list))
    if listener.client_authentication == "NONE":
        return files
    if listener.client_authentication not in CLIENT_AUTH_VERIFY:
        raise UnsafeConfigValue(
            f"listener {listener_id!r} has unknown client_authentication"
            f" {listener.client_authentication!r}"
        )
    what = f"client CA of listener {listener_id!r}"
    ca = _add(plan, "ca", ".pem", _pem(listener.client_ca, _PEM_CERT, what))
    crl = None
    if listener.client_crl:
        what = f"client CRL of listener {listener_id!r}"
        crl = _add(plan, "crl", ".pem", _pem(listener.client_crl, _PEM_CRL, what))
    return ListenerFiles(files.crt_list, ca, crl)


def _plan_pool(plan: TlsFiles, pool: PoolNode) -> PoolFiles:
    pool_id = esc.file_stem(pool.id, "pool id")
    ca = crl = client_cert = None
    if pool.ca_certificate:
        what = f"CA certificate of pool {pool_id!r}"
        ca = _add(plan, "ca", ".pem", _pem(pool.ca_certificate, _PEM_CERT, what))
        if pool.crl:
            crl = _add(plan, "crl", ".pem", _pem(pool.crl, _PEM_CRL, f"CRL of pool {pool_id!r}"))
    if pool.tls_certificate is not None:
        client_cert = _certificate(plan, pool.tls_certificate, "client certificate")
    return PoolFiles(ca, crl, client_cert)


def write_tls_files(plan: TlsFiles) -> None:
    """Write every planned file (0600) into the plan's directory (0700); files already there
    with the same name hold the same content and are left alone. Nothing happens without files."""
    if not plan.contents:
        return
    plan.directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(plan.directory, 0o700)
    for name, text in plan.contents.items():
        target = plan.directory / name
        with contextlib.suppress(FileNotFoundError):
            if target.read_text() == text:
                continue
        tmp = plan.directory / f".tmp-{name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)


def prune_tls_files(plan: TlsFiles) -> list[str]:
    """Remove the files of the plan's directory the plan does not name (the directory too when
    it names none); returns the names removed. Call only once haproxy runs the plan's config."""
    removed: list[str] = []
    try:
        entries = list(plan.directory.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        if entry.name not in plan.contents:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
            removed.append(entry.name)
    if not plan.contents:
        with contextlib.suppress(OSError):
            plan.directory.rmdir()
    return removed
