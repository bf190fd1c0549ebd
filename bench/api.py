"""API benchmark: create, show and list load balancers over HTTP against the real server.

Runs ``lbaas server`` (noop provider) as a subprocess on SQLite and/or a throwaway PostgreSQL,
and drives it with httpx clients (keep-alive, one connection per client thread) from 1 and from 4
concurrent clients, with 0, 200 and 1,000 load balancers in the project. For each operation it
reports p50/p99 latency and requests/s, and two ratios:

* ``octavia_p50 / ours_p50`` against the Octavia API measured earlier on this machine (4 gunicorn
  workers, MariaDB) -- quoted numbers, printed as a reference row, not measured here;
* ``ours_p50 / floor_p50`` against a floor measured in the same run: the same clients calling
  ``GET /healthcheck``, the server's cheapest endpoint (HTTP + framework + ``SELECT 1``).

The goal is ten times Octavia on each operation (p50, and requests/s where Octavia's is quoted).
Benchmarks never fail on goals: the exit status is 0 unless something broke (server did not start,
requests failed, a phase timed out).

    uv run python -m bench.api                 # both databases, full counts
    uv run python -m bench.api --quick --db sqlite
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape

from bench.api_driver import ApiDriver
from bench.api_results import (
    FULL,
    GOAL,
    GOAL_RULE,
    MAX_CLIENTS,
    OCTAVIA,
    OCTAVIA_SETUP,
    OPERATIONS,
    QUICK,
    DatabaseResult,
    Profile,
    Row,
)
from bench.common import (
    BenchError,
    Column,
    fmt,
    lbaas_server,
    postgres_database,
    print_table,
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
        with postgres_database() as url:
            yield url


def bench_database(database: str, profile: Profile, workers: int | None,
                   console: Console) -> DatabaseResult:
    """Start a server on ``database``, run every series, stop everything."""
    # The noop provider explicitly: the API alone is measured, whatever the default provider is.
    config: dict[str, dict[str, object]] = {"api": {"default_provider": "noop"}}
    if workers is not None:
        config["api"]["workers"] = workers
    with (database_url(database) as url, lbaas_server(url, config) as server,
          ApiDriver(server, database, profile, console) as driver):
        driver.result.notes.append(f"host: {os.cpu_count()} CPUs shared by clients and "
                                   f"server; load average at start {_load()}")
        processes = driver.result.server_processes = server.process_count()
        if workers is not None and workers > 1:
            if processes < workers:
                driver.result.notes.append(
                    f"--workers {workers}: [api] workers was set but the server runs only "
                    f"{processes} process(es)")
            else:
                driver.result.notes.append(f"server processes: {processes}")
        try:
            driver.run()
        except (BenchError, httpx.HTTPError) as exc:
            driver.result.error = f"{exc}\n{server.log_tail(10)}"
        driver.finish()  # ratios also for the rows measured before an error
        driver.result.notes.append(f"load average at end {_load()}")
        return driver.result


def _load() -> str:
    """The 1-minute load average (other work on the machine skews the numbers)."""
    return f"{os.getloadavg()[0]:.2f}"


# --------------------------------------------------------------------------------------------
# Output

COLUMNS = [Column("operation", "left"), Column("LBs"), Column("clients"), Column("n"),
           Column("p50 ms"), Column("p99 ms"), Column("req/s"), Column("octavia p50 ms"),
           Column("speed-up vs octavia (x)"), Column("req/s vs octavia (x)"),
           Column("p50 vs floor (x)"), Column("server CPU ms/req"),
           Column("goal met (>=10x)", "center")]
TABLE_WIDTH = 170


def quoted_rows(database: str) -> list[Row]:
    """Octavia's quoted numbers as reference rows (flagged ``quoted``)."""
    return [Row(database, f"{ref.operation} [octavia, quoted]",
                str(ref.lbs) if ref.lbs is not None else "?", 1, 0, ref.p50_ms, math.nan,
                ref.rps if ref.rps is not None else math.nan, quoted=True)
            for ref in OCTAVIA.values()]


def _cells(row: Row) -> list[str]:
    if row.quoted:
        return [row.operation, row.lbs, "?", "—", fmt(row.p50_ms), "—", fmt(row.rps), "", "",
                "", "", "", ""]
    goal = {None: "—", True: "[green]yes[/green]", False: "[red]no[/red]"}[row.goal_met]
    operation = "healthcheck (floor)" if row.operation == "healthcheck" else row.operation
    return [operation, row.lbs, str(row.clients), str(row.n), fmt(row.p50_ms), fmt(row.p99_ms),
            fmt(row.rps), fmt(row.octavia_p50_ms), fmt(row.speedup), fmt(row.rps_ratio),
            fmt(row.vs_floor), fmt(row.server_cpu_ms), goal]


def print_result(result: DatabaseResult, console: Console, profile: Profile,
                 workers: int | None) -> None:
    """The table of one database, Octavia's quoted rows first, then notes and errors."""
    rows = [*quoted_rows(result.database), *result.rows]
    styles = ["dim italic" if r.quoted else None for r in rows]
    caption = (f"Reference rows are quoted ({OCTAVIA_SETUP}); every other row is measured now. "
               "speed-up = octavia p50 / ours p50; p50 vs floor = ours p50 / healthcheck p50 "
               "with the same clients; server CPU = the server process's CPU time / requests "
               "(includes the noop provider's background work for creates). " + GOAL_RULE)
    requested = f" (--workers {workers})" if workers is not None else ""
    title = (f"bench/api — {result.database} — server processes: "
             f"{result.server_processes or '?'}{requested} — levels "
             f"{', '.join(map(str, profile.levels))} LBs")
    print_table(title, COLUMNS, [_cells(r) for r in rows], console, caption, styles)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if result.error:
        console.print(f"[red]error:[/red] {escape(result.error)}")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path, results: list[DatabaseResult], profile: Profile) -> None:
    """Machine-readable results (for other tools and the smoke test)."""
    doc = {"profile": asdict(profile), "goal": GOAL,
           "octavia_reference": {k: asdict(v) for k, v in OCTAVIA.items()},
           "databases": {r.database: {"rows": [asdict(row) for row in r.rows],
                                      "notes": r.notes, "error": r.error} for r in results}}
    path.write_text(json.dumps(_json_safe(doc), indent=2, allow_nan=False, default=str))


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small counts (CI smoke test, well under a minute per database)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both",
                        help="database(s) to benchmark (default: both)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="set [api] workers = N for the server (reported if unsupported)")
    parser.add_argument("--levels", default=None, metavar="N,N,...",
                        help="load-balancer counts to measure at (default 0,200,1000; "
                             "quick: 0,10,30)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
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
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    console = Console()
    if not console.is_terminal:  # files and pipes: do not squeeze the table into 80 columns
        console = Console(width=TABLE_WIDTH)
    results: list[DatabaseResult] = []
    with sigterm_exits():
        for database in databases:
            try:
                result = bench_database(database, profile, args.workers, console)
            except (BenchError, httpx.HTTPError) as exc:
                result = DatabaseResult(database, error=f"{type(exc).__name__}: {exc}")
            results.append(result)
    for result in results:
        print_result(result, console, profile, args.workers)
    if args.json is not None:
        write_json(args.json, results, profile)
    failed = any(r.error or any(row.errors for row in r.rows) for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
