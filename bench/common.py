"""Helpers shared by the benchmarks: percentiles, rich result tables, throwaway PostgreSQL and
MariaDB servers, and the real ``lbaas server`` run as a subprocess on a free loopback port.

Everything that starts something is a context manager that stops and deletes it on the way out,
also when the benchmark fails or is interrupted (Ctrl-C, or SIGTERM under :func:`sigterm_exits`).

Used by ``bench.api`` and its modules, by the data-plane benchmarks (tables, percentiles,
SIGTERM, process CPU time) and by ``tests/functional/test_server_workers.py`` (the server).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, JustifyMethod
from rich.table import Table

LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """A benchmark could not run (server did not start, requests failed, timeout...)."""


# --------------------------------------------------------------------------------------------
# Statistics and output


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values``, linearly interpolated between ranks
    (numpy's default method). Raises ValueError on an empty sequence."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Summary:
    """Latency percentiles and throughput of one measured series of requests."""

    n: int
    p50_ms: float
    p99_ms: float
    rps: float


def summarize(latencies_s: Sequence[float], wall_s: float) -> Summary:
    """Summarise request latencies (seconds) completed in ``wall_s`` seconds of wall time."""
    if not latencies_s:
        return Summary(0, math.nan, math.nan, 0.0)
    return Summary(n=len(latencies_s), p50_ms=percentile(latencies_s, 50) * 1000,
                   p99_ms=percentile(latencies_s, 99) * 1000,
                   rps=len(latencies_s) / wall_s if wall_s > 0 else math.nan)


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table cell: ``—`` when absent or NaN, fewer decimals when large."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


@dataclass
class Column:
    """A table column: header and rich justification/style."""

    header: str
    justify: JustifyMethod = "right"
    style: str | None = None


def print_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]],
                console: Console | None = None, caption: str | None = None,
                row_styles: Sequence[str | None] | None = None) -> None:
    """Print ``rows`` (already formatted cells) as a rich table."""
    table = Table(title=title, caption=caption, caption_justify="left")
    for col in columns:
        table.add_column(col.header, justify=col.justify, style=col.style)
    for i, row in enumerate(rows):
        table.add_row(*row, style=row_styles[i] if row_styles else None)
    (console or Console()).print(table)


# --------------------------------------------------------------------------------------------
# Processes and signals


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """Turn SIGTERM into SystemExit while the block runs, so that cleanups (servers, temporary
    directories) happen when the benchmark is killed politely. No-op outside the main thread."""
    try:
        previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """Process ids of all descendants of ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid``, all its threads including those that have
    ended (clock-tick resolution, 10 ms: divide by many requests); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# PostgreSQL and MariaDB


@contextlib.contextmanager
def _server_database(label: str, server: Mapping[str, Any], new_database: Callable[[], str],
                     stop: Callable[[], None]) -> Iterator[str]:
    """A database from ``new_database`` of a test-suite server manager (``tests/pg.py``,
    ``tests/mariadb.py``; ``server`` is its state); yields its SQLAlchemy URL. The server is
    stopped and its directory deleted on exit, unless it was already running when the block
    started (a pytest session owns it)."""
    import pytest

    already_running = bool(server)  # read-only peek: do not stop a server we did not start
    try:
        url = new_database()
    except pytest.skip.Exception as exc:
        raise BenchError(f"{label} is not available: {exc}") from None
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        if not already_running:
            stop()
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else None
        raise BenchError(f"{label} did not start: {detail or exc}") from exc
    try:
        yield url
    finally:
        if not already_running:
            stop()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on a throwaway PostgreSQL 15 server (``tests.pg``: initdb + pg_ctl
    as user ``postgres``, Unix socket only, in a temporary directory); yields its URL."""
    try:
        from tests import pg
    except ImportError as exc:  # pragma: no cover - dev dependencies missing
        raise BenchError(f"PostgreSQL benchmarks need the dev dependencies: {exc}") from exc
    with _server_database("PostgreSQL", pg._server, pg.postgres_url_factory,
                          pg.stop_postgres) as url:
        yield url


@contextlib.contextmanager
def mariadb_database() -> Iterator[str]:
    """A new, empty database on a throwaway MariaDB server (``tests.mariadb``: mariadbd as user
    ``mysql``, Unix socket only, in a temporary directory); yields its URL."""
    try:
        from tests import mariadb
    except ImportError as exc:  # pragma: no cover - dev dependencies missing
        raise BenchError(f"MariaDB benchmarks need the dev dependencies: {exc}") from exc
    with _server_database("MariaDB", mariadb._server, mariadb.mariadb_url_factory,
                          mariadb.stop_mariadb) as url:
        yield url


# --------------------------------------------------------------------------------------------
# The lbaas server


def lbaas_command() -> list[str]:
    """The ``lbaas`` console script of the running environment (what ``uv run lbaas`` runs)."""
    script = Path(sys.executable).with_name("lbaas")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lbaas.cli.main"]


def write_config(path: Path, sections: Mapping[str, Mapping[str, object]]) -> None:
    """Write an oslo.config file: ``{"DEFAULT": {...}, "api": {...}}``."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))


@dataclass
class LbaasServer:
    """A running ``lbaas server`` subprocess (see :func:`lbaas_server`)."""

    base_url: str
    config_file: Path
    state_path: Path
    log_file: Path
    process: subprocess.Popen[bytes]
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, project: str, *roles: str) -> str:
        """A new API token, made with ``lbaas token create`` on the server's configuration."""
        argv = [*lbaas_command(), "token", "create", "--project", project,
                "--config-file", str(self.config_file)]
        for role in roles:
            argv += ["--role", role]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise BenchError(f"lbaas token create failed: {done.stderr.strip()}")
        return done.stdout.strip().splitlines()[-1]

    def process_count(self) -> int:
        """The server process plus all its descendants (worker processes, if any)."""
        return 1 + len(descendants(self.process.pid))

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its live descendants:
        divided by a request count, the server's cost per request, which other load on the
        machine distorts much less than latency."""
        return sum(process_cpu_seconds(pid)
                   for pid in (self.process.pid, *descendants(self.process.pid)))

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log (for error messages)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def lbaas_server(db_url: str = "", config: Mapping[str, Mapping[str, object]] | None = None,
                 start_timeout: float = 60.0) -> Iterator[LbaasServer]:
    """Run ``lbaas server -c <tmp conf>`` on a free loopback port with a temporary state_path.

    ``db_url`` empty means SQLite under the state path. ``config`` adds/overrides options
    (``{"api": {"workers": 4}}``). The database schema is created first (``lbaas db upgrade``).
    The server is stopped (SIGTERM, then SIGKILL) and the state directory deleted on exit.
    """
    state = Path(tempfile.mkdtemp(prefix="lbaas-bench-"))
    try:
        port = free_port()
        sections: dict[str, dict[str, object]] = {
            "DEFAULT": {"state_path": state, "log_level": "INFO", "log_json": "true"},
            "api": {"bind_host": LOOPBACK, "bind_port": port},
            "database": {"connection": db_url} if db_url else {},
        }
        for section, values in (config or {}).items():
            sections.setdefault(section, {}).update(values)
        conf = state / "lbaas.conf"
        write_config(conf, sections)
        upgrade = subprocess.run([*lbaas_command(), "db", "upgrade", "--config-file", str(conf)],
                                 capture_output=True, text=True, timeout=120)
        if upgrade.returncode != 0:
            raise BenchError(f"lbaas db upgrade failed: {upgrade.stderr.strip()}")
        key = subprocess.run([*lbaas_command(), "secret-key", "create", "--config-file",
                              str(conf)], capture_output=True, text=True, timeout=60)
        if key.returncode != 0:
            raise BenchError(f"lbaas secret-key create failed: {key.stdout.strip()}")
        log = state / "server.log"
        with open(log, "wb") as log_out:
            proc = subprocess.Popen([*lbaas_command(), "server", "--config-file", str(conf)],
                                    stdin=subprocess.DEVNULL, stdout=log_out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        server = LbaasServer(f"http://{LOOPBACK}:{port}", conf, state, log, proc)
        try:
            _wait_ready(server, start_timeout)
            yield server
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _wait_ready(server: LbaasServer, timeout: float) -> None:
    def exited() -> str | None:
        if server.process.poll() is None:
            return None
        return f"lbaas server exited with {server.process.returncode}:\n{server.log_tail()}"

    if not wait_healthy(server.base_url, time.monotonic() + timeout, exited):
        raise BenchError(f"lbaas server not ready after {timeout:.0f}s:\n{server.log_tail()}")


def wait_healthy(base_url: str, deadline: float, failed: Callable[[], str | None],
                 ready: Callable[[], bool] = lambda: True, interval: float = 0.1) -> bool:
    """Poll ``GET /healthcheck`` until it answers 200 and ``ready()``; False at ``deadline``.
    Raises BenchError with what ``failed()`` returns once it returns something (a process the
    server needs exited). Used for lbaas's server and for the real Octavia
    (``bench.octavia_peer``)."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        while True:
            problem = failed()
            if problem is not None:
                raise BenchError(problem)
            try:
                if ready() and client.get("/healthcheck").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                return False
            time.sleep(interval)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
