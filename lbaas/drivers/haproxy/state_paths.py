"""Where the files of one load balancer's haproxy live, and how they are written.

Each load balancer has a state directory ``<state_path>/lbaas/<lb_id>/`` (mode 0700) with its
config (``haproxy.cfg``, the candidate ``haproxy.cfg.new``, a refused ``haproxy.cfg-failed``), its
pid file, its saved server state and its TLS files (``certs/``, written by :mod:`.tls_files`).
Its three UNIX sockets (stats, master CLI and the Prometheus exporter) sit there too,
unless that path is too long for AF_UNIX; they then move to ``/run/lbaas/<lb_id>/``.

Used by the process manager (:mod:`.process`) and by the device driver (:mod:`.namespace_driver`),
which hands the stats socket and server-state file to the renderer as
:class:`lbaas.drivers.haproxy.view.ConfigRuntimePaths`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

# sun_path holds 107 bytes, but haproxy 2.6 refuses socket paths longer than 97.
UNIX_PATH_MAX = 97
SHORT_SOCKET_ROOT = Path("/run/lbaas")


@dataclass(frozen=True)
class StatePaths:
    """Files of one load balancer's haproxy inside :attr:`directory`; its sockets inside
    :attr:`socket_directory` (the same directory unless its path is too long for AF_UNIX)."""

    directory: Path
    socket_directory: Path

    @classmethod
    def for_load_balancer(cls, state_path: str | os.PathLike[str], lb_id: str) -> StatePaths:
        """The paths under ``<state_path>/lbaas/<lb_id>`` (``lb_id`` must already be checked)."""
        directory = Path(state_path).absolute() / "lbaas" / lb_id
        paths = cls(directory, directory)
        if len(os.fsencode(paths.stats_socket)) > UNIX_PATH_MAX:
            # A deep state_path: the sockets move to a short per-LB directory under /run.
            paths = cls(directory, SHORT_SOCKET_ROOT / lb_id)
        return paths

    @property
    def config(self) -> Path:
        return self.directory / "haproxy.cfg"

    @property
    def new_config(self) -> Path:
        return self.directory / "haproxy.cfg.new"

    @property
    def failed_config(self) -> Path:
        return self.directory / "haproxy.cfg-failed"

    @property
    def pid(self) -> Path:
        return self.directory / "haproxy.pid"

    @property
    def stats_socket(self) -> Path:
        return self.socket_directory / "haproxy.sock"

    @property
    def metrics_socket(self) -> Path:
        """HAProxy's built-in Prometheus exporter (:mod:`.exporter`), mode 0600."""
        return self.socket_directory / "metrics.sock"

    @property
    def master_socket(self) -> Path:
        return self.socket_directory / "master.sock"

    @property
    def servers_state(self) -> Path:
        return self.directory / "servers.state"

    @property
    def certs(self) -> Path:
        """Certificates, keys, crt-lists, CA and CRL files (:mod:`.tls_files`); mode 0700."""
        return self.directory / "certs"


def listener_metrics_socket(state_path: str | os.PathLike[str]) -> Path:
    """The agent's UNIX socket the PROMETHEUS listeners of its load balancers forward to
    (:mod:`lbaas.agent.metrics.prometheus_listener`), in a 0700 directory of its own; under
    /run for a state_path too deep for AF_UNIX."""
    path = Path(state_path).absolute() / "prometheus-listeners" / "agent.sock"
    if len(os.fsencode(path)) > UNIX_PATH_MAX:
        digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:16]
        path = SHORT_SOCKET_ROOT / f"prometheus-listeners-{digest}" / "agent.sock"
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 (also when it existed), flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
