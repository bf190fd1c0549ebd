"""API benchmark: create, show and list load balancers over HTTP against the real server.

Runs ``lbaas server`` (noop provider) as a subprocess on SQLite and/or a throwaway PostgreSQL
(or MariaDB, the database of the Octavia numbers quoted, with ``--db mariadb`` or ``all``),
and drives it with httpx clients (keep-alive, one connection per client thread) from 1 and from 4
concurrent clients, with 0, 200 and 1,000 load balancers in the project. For each operation it
reports p50/p99 latency and requests/s, and two ratios:

* ``octavia_p50 / ours_p50`` against Octavia: by default the Octavia API measured earlier on
  this machine (4 gunicorn workers, MariaDB), quoted numbers printed as reference rows; with
  ``--octavia``, the real Octavia from PyPI started after lbaas's runs (``bench.octavia_peer``:
  4 gunicorn workers, its own MariaDB and RabbitMQ, noop drivers) and measured with the same
  series, each row compared with Octavia's row of the same operation, level and clients;
* ``ours_p50 / floor_p50`` against a floor measured in the same run: the same clients calling
  ``GET /healthcheck``, the server's cheapest endpoint (HTTP + framework + ``SELECT 1``).

The goal is ten times Octavia on each operation (p50, and requests/s where Octavia's is known).
Benchmarks never fail on goals: the exit status is 0 unless something broke (server did not start,
requests failed, a phase timed out).

    uv run python -m bench.api                 # SQLite and PostgreSQL, full counts
    uv run python -m bench.api --quick --db sqlite
    make bench-octavia-deps && uv run python -m bench.api --db mariadb --octavia
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import httpx
from rich.console import Console

from bench import octavia_peer
from bench.api_driver import ApiDriver, LbaasTarget
from bench.api_report import TABLE_WIDTH, print_result, write_json
from bench.api_results import (
    FULL,
    MAX_CLIENTS,
    OPERATIONS,
    QUICK,
    DatabaseResult,
    Profile,
    compare_measured,
    compare_quoted,
)
from bench.common import (
    BenchError,
    lbaas_server,
    mariadb_database,
    postgres_database,
    sigterm_exits,
)

# What callers read from the entry point (tests/functional/test_bench_smoke.py).
__all__ = ["FULL", "MAX_CLIENTS", "OPERATIONS", "QUICK", "main"]


# --------------------------------------------------------------------------------------------
# Databases


@contextmanager
def database_url(database: str) -> Iterator[str]:
    """The connection URL for ``database`` ('' = SQLite under the server's state path)."""
    if database == "sqlite":
        yield ""
    else:
        with (postgres_database() if database == "postgres" else mariadb_database()) as url:
            yield url


def bench_database(database: str, profile: Profile, workers: int | None,
                   console: Console) -> DatabaseResult:
    """Start a server on ``database``, run every series, stop everything."""
    # The noop provider explicitly: the API alone is measured, whatever the default provider is.
    config: dict[str, dict[str, object]] = {"api": {"default_provider": "noop"}}
    if workers is not None:
        config["api"]["workers"] = workers
    with (database_url(database) as url, lbaas_server(url, config) as server,
          ApiDriver(LbaasTarget(server), database, profile, console) as driver):
        processes = driver.result.server_processes = server.process_count()
        notes: list[str] = []
        if workers is not None and workers > 1:
            if processes < workers:
                notes.append(f"--workers {workers}: [api] workers was set but the server runs "
                             f"only {processes} process(es)")
            else:
                notes.append(f"server processes: {processes}")
        return run_driver(driver, notes)


def octavia_setup() -> str:
    """What ``--octavia`` measures, for titles, captions and the JSON document."""
    return (f"Octavia {octavia_peer.version()} API, {octavia_peer.API_WORKERS} gunicorn sync "
            "workers, MariaDB, noauth, amphora provider + octavia-worker on noop drivers")


def bench_octavia(profile: Profile, console: Console) -> DatabaseResult:
    """Start the real Octavia (``bench.octavia_peer``), run every series, stop everything."""
    started = time.monotonic()
    with (octavia_peer.octavia_peer() as peer,
          ApiDriver(peer, "octavia", profile, console) as driver):
        driver.result.setup = octavia_setup()
        driver.result.server_processes = peer.process_count()
        worker_cpu = peer.worker_cpu_seconds()
        result = run_driver(driver, [
            f"Octavia started in {time.monotonic() - started:.0f} s (MariaDB, RabbitMQ, "
            "schema, API, worker, a probe load balancer ACTIVE)"])
        if driver.lb_ids:
            per_lb = (peer.worker_cpu_seconds() - worker_cpu) * 1000 / len(driver.lb_ids)
            result.notes.append(f"octavia-worker CPU: {per_lb:.0f} ms per load balancer "
                                f"created ({len(driver.lb_ids)}; its create flow, not counted "
                                "in server CPU)")
        return result


def run_driver(driver: ApiDriver, notes: list[str]) -> DatabaseResult:
    """Every series of ``driver``, with the machine's load before and after."""
    driver.result.notes += [f"host: {os.cpu_count()} CPUs shared by clients and server; load "
                            f"average at start {_load()}", *notes]
    try:
        driver.run()
    except (BenchError, httpx.HTTPError) as exc:
        driver.result.error = f"{exc}\n{driver.target.log_tail(10)}"
    driver.finish()  # ratios also for the rows measured before an error
    driver.result.notes.append(f"load average at end {_load()}")
    return driver.result


def compare(results: list[DatabaseResult], octavia: DatabaseResult | None) -> str | None:
    """Ratios of lbaas's rows against the measured Octavia when it has rows, else against the
    quoted numbers; returns Octavia's setup when it was measured."""
    measured = octavia is not None and bool(octavia.rows)
    for result in results:
        if octavia is not None and measured:
            compare_measured(result.rows, octavia.rows)
        else:
            compare_quoted(result.rows)
            if octavia is not None:
                result.notes.append("Octavia was not measured (see its error): ratios "
                                    "against the quoted numbers")
    return octavia.setup if octavia is not None and measured else None


def _load() -> str:
    """The 1-minute load average (other work on the machine skews the numbers)."""
    return f"{os.getloadavg()[0]:.2f}"


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small counts (CI smoke test, well under a minute per database)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "mariadb", "both", "all"),
                        default="both",
                        help="database(s) to benchmark: both is SQLite and PostgreSQL (the "
                             "default), all adds MariaDB")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="set [api] workers = N for the server (reported if unsupported)")
    parser.add_argument("--levels", default=None, metavar="N,N,...",
                        help="load-balancer counts to measure at (default 0,200,1000; "
                             "quick: 0,10,30)")
    parser.add_argument("--octavia", action="store_true",
                        help="after lbaas, start the real Octavia API (bench/octavia_env: "
                             "its own MariaDB and RabbitMQ, noop drivers; install it with "
                             f"'{octavia_peer.INSTALL_COMMAND}') and compare with it instead "
                             "of the quoted numbers")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    if args.octavia and not octavia_peer.peer_available():
        parser.error(f"--octavia: Octavia is not installed in {octavia_peer.PEER_DIR}/.venv; "
                     f"run '{octavia_peer.INSTALL_COMMAND}' first")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.levels is not None:
        try:
            levels = tuple(sorted({int(x) for x in args.levels.split(",") if x.strip()}))
        except ValueError:
            parser.error("--levels takes comma-separated integers")
        if not levels or levels[0] < 0 or levels[-1] > 5000:
            parser.error("--levels must be within 0..5000")
        args.levels = levels
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every series ran (whatever the goals), 1 on errors."""
    args = parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.levels is not None:
        profile = Profile(**{**asdict(profile), "levels": args.levels})
    databases = {"both": ["sqlite", "postgres"], "all": ["sqlite", "postgres", "mariadb"]
                 }.get(args.db, [args.db])
    console = Console()
    if not console.is_terminal:  # files and pipes: do not squeeze the table into 80 columns
        console = Console(width=TABLE_WIDTH)
    results: list[DatabaseResult] = []
    octavia: DatabaseResult | None = None
    with sigterm_exits():
        for database in databases:
            try:
                result = bench_database(database, profile, args.workers, console)
            except (BenchError, httpx.HTTPError) as exc:
                result = DatabaseResult(database, error=f"{type(exc).__name__}: {exc}")
            results.append(result)
        if args.octavia:
            try:
                octavia = bench_octavia(profile, console)
            except (BenchError, httpx.HTTPError) as exc:
                octavia = DatabaseResult("octavia", error=f"{type(exc).__name__}: {exc}",
                                         setup=octavia_setup())
    setup = compare(results, octavia)
    everything = [octavia, *results] if octavia is not None else results
    for result in everything:
        print_result(result, console, profile, args.workers, setup)
    if args.json is not None:
        write_json(args.json, everything, profile, setup)
    failed = any(r.error or any(row.errors for row in r.rows) for r in everything)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
