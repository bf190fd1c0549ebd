"""A private MariaDB server for the test session: ``mariadb-install-db`` in a temp dir, ``mariadbd``
run as 'mysql' on a Unix socket only (no TCP), with durability traded for speed; one fresh
database per test. Started on first use by the database-parametrised fixtures
(``tests/databases.py``) and ``bench/common.py``; stopped and deleted by ``stop_mariadb`` at the
end of the session (``tests/conftest.py``), or at exit of the process."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pymysql
import pytest

_MARIADBD = Path("/usr/sbin/mariadbd")
_INSTALL_DB = Path("/usr/bin/mariadb-install-db")
_START_TIMEOUT_S = 60.0
_server: dict[str, Any] = {}

# Settings for a throwaway server: nothing survives the session, so nothing is flushed to disk
# for durability; small memory and log; tables in the system tablespace (one file fewer to
# create per CREATE TABLE, and each test creates twenty); enough connections for every API of a
# test session's concurrent tests (pool of 10 + overflow 20 each).
_SETTINGS = (
    "--skip-networking",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-file-per-table=0",
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
    "--max-connections=300",
    "--character-set-server=utf8mb4",
)


def _connect(sock: str, database: str | None = None) -> pymysql.Connection:
    return pymysql.connect(unix_socket=sock, user="root", database=database,
                           charset="utf8mb4", autocommit=True)


def _log_tail(lines: int = 20) -> str:
    try:
        text = Path(_server["base"], "error.log").read_text(errors="replace")
    except (KeyError, OSError):
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _start() -> str:
    """The socket of the session's server, started now if it is not running yet."""
    if "socket" in _server:
        return str(_server["socket"])
    if not (_MARIADBD.exists() and _INSTALL_DB.exists()):
        pytest.skip("MariaDB is not installed (make test installs it)")
    base = tempfile.mkdtemp(prefix="lbaas-mariadb-")
    _server["base"] = base
    atexit.register(stop_mariadb)
    try:
        os.chmod(base, 0o755)
        shutil.chown(base, "mysql", "mysql")
        data, sock = os.path.join(base, "data"), os.path.join(base, "mysqld.sock")
        subprocess.run(["runuser", "-u", "mysql", "--", str(_INSTALL_DB), "--no-defaults",
                        f"--datadir={data}", "--auth-root-authentication-method=normal",
                        "--skip-test-db", *_SETTINGS],
                       check=True, capture_output=True, text=True)
        # Started as root with --user so that it may raise its own open-files limit.
        _server["process"] = subprocess.Popen(
            [str(_MARIADBD), "--no-defaults", "--user=mysql", f"--datadir={data}",
             f"--socket={sock}", f"--pid-file={base}/mysqld.pid",
             f"--log-error={base}/error.log", *_SETTINGS],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(sock)
    except BaseException:
        stop_mariadb()
        raise
    _server["socket"] = sock
    return sock


def _wait_ready(sock: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        if _server["process"].poll() is not None:
            raise RuntimeError(f"mariadbd exited with {_server['process'].returncode}:\n"
                               f"{_log_tail()}")
        try:
            _connect(sock).close()
            return
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not start in {_START_TIMEOUT_S:.0f} s:\n"
                                   f"{_log_tail()}") from None
            time.sleep(0.1)


def stop_mariadb() -> None:
    """Stop the session's server (if this process started one) and delete its directory."""
    if "base" not in _server:
        return
    process: subprocess.Popen[bytes] | None = _server.get("process")
    try:
        if process is not None and process.poll() is None:
            process.terminate()  # a clean shutdown: InnoDB needs no recovery, so it is quick
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
    finally:
        shutil.rmtree(_server["base"], ignore_errors=True)
        _server.clear()


def mariadb_url_factory(request: pytest.FixtureRequest | None = None) -> str:
    """A URL of a new, empty database (utf8mb4, the server's default collation, as Octavia's
    deployments have) on the session's MariaDB server."""
    sock = _start()
    name = "lbaas_" + uuid.uuid4().hex[:12]
    conn = _connect(sock)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    finally:
        conn.close()
    return f"mysql+pymysql://root@/{name}?unix_socket={sock}&charset=utf8mb4"
