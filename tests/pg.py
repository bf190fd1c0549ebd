"""A private PostgreSQL server for the test session: initdb in a temp dir, run as 'postgres',
listen on a Unix socket only; one fresh database per test. Stopped at the end of the session.

Outside a pytest request (the node lab, ``tests/nodelab``): :func:`create_database` and
:func:`drop_database`, :func:`restart_postgres` for the fault tests, :func:`server_base` to
know whether (and where) the server runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

_PG_BIN = Path("/usr/lib/postgresql/15/bin")
_server: dict[str, str] = {}


def _run_as_postgres(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)


def _start() -> str:
    if "socket_dir" in _server:
        return _server["socket_dir"]
    if not (_PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 is not installed (make test installs it)")
    base = tempfile.mkdtemp(prefix="lbaas-pg-")
    os.chmod(base, 0o755)
    data, sock = os.path.join(base, "data"), os.path.join(base, "sock")
    os.makedirs(sock)
    shutil.chown(base, "postgres", "postgres")
    shutil.chown(sock, "postgres", "postgres")
    _run_as_postgres(str(_PG_BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                     "--no-sync")
    _server.update(base=base, data=data, socket_dir=sock)
    _pg_ctl_start()
    return sock


def _pg_ctl_start() -> None:
    _run_as_postgres(str(_PG_BIN / "pg_ctl"), "-D", _server["data"], "-w", "-l",
                     os.path.join(_server["base"], "pg.log"), "-o",
                     f"-c listen_addresses='' -c unix_socket_directories='{_server['socket_dir']}' "
                     "-c fsync=off -c max_connections=200", "start")


def stop_postgres() -> None:
    if "data" not in _server:
        return
    try:
        _run_as_postgres(str(_PG_BIN / "pg_ctl"), "-D", _server["data"], "-m", "fast", "-w",
                         "stop")
    finally:
        shutil.rmtree(_server["base"], ignore_errors=True)
        _server.clear()


def server_base() -> str | None:
    """The directory of the running server (data, socket, log), None when none runs."""
    return _server.get("base")


def restart_postgres(down_for: float = 0.0) -> None:
    """Restart the running server (fast shutdown: open connections are cut) on the same data,
    socket and options, after ``down_for`` seconds stopped; returns once it accepts connections
    again."""
    if "data" not in _server:
        raise RuntimeError("no PostgreSQL server runs")
    _run_as_postgres(str(_PG_BIN / "pg_ctl"), "-D", _server["data"], "-m", "fast", "-w", "stop")
    time.sleep(down_for)
    _pg_ctl_start()


def database_name(url: str) -> str:
    """The database name of a URL made by :func:`create_database`."""
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (made by :func:`create_database`), closing its sessions."""
    if "socket_dir" not in _server:
        return
    _run_as_postgres(str(_PG_BIN / "dropdb"), "-h", _server["socket_dir"], "-U", "postgres",
                     "--if-exists", "--force", database_name(url))


def postgres_url_factory(request: pytest.FixtureRequest | None = None) -> str:
    """A URL of a new, empty database on the session's PostgreSQL server."""
    return create_database()


def create_database() -> str:
    """A URL of a new, empty database on the session's PostgreSQL server (started if needed)."""
    sock = _start()
    name = "lbaas_" + uuid.uuid4().hex[:12]
    deadline = time.monotonic() + 30
    while True:
        try:
            _run_as_postgres(str(_PG_BIN / "createdb"), "-h", sock, "-U", "postgres", name)
            break
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return f"postgresql+psycopg://postgres@/{name}?host={sock}"
