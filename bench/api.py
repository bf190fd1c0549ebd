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
import itertools
import json
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape

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
    LbaasServer,
    fmt,
    lbaas_server,
    postgres_database,
    print_table,
    sigterm_exits,
    summarize,
)

# What callers read from the entry point (tests/functional/test_bench_smoke.py).
__all__ = ["FULL", "MAX_CLIENTS", "OPERATIONS", "QUICK", "main"]

LB_PATH = "/v2/lbaas/loadbalancers"


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Series:
    """Raw result of one measured series."""

    latencies: list[float]
    wall_s: float
    errors: list[str]


def run_series(clients: Sequence[httpx.Client], total: int, budget_s: float,
               call: Callable[[httpx.Client, int], None],
               warmup: Callable[[httpx.Client], None] | None = None) -> Series:
    """Issue ``total`` calls spread over ``clients`` (one thread each), at most ``budget_s``.

    ``call(client, i)`` performs request number ``i`` and raises on a wrong answer. Each thread
    first runs ``warmup`` (not timed), so that connections are open when timing starts.
    """
    counter = itertools.count()
    lock = threading.Lock()
    stop = threading.Event()
    barrier = threading.Barrier(len(clients) + 1)
    per_thread: list[list[float]] = [[] for _ in clients]
    finished: list[float] = [0.0 for _ in clients]
    errors: list[str] = []

    def worker(index: int, client: httpx.Client) -> None:
        try:
            if warmup is not None:
                warmup(client)
        except Exception as exc:
            errors.append(f"warm-up: {exc}")
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            return
        out = per_thread[index]
        while not stop.is_set():
            with lock:
                i = next(counter)
            if i >= total:
                break
            started = time.perf_counter()
            try:
                call(client, i)
            except Exception as exc:
                errors.append(str(exc) or type(exc).__name__)
                continue
            out.append(time.perf_counter() - started)
        finished[index] = time.perf_counter()

    threads = [threading.Thread(target=worker, args=(i, c), daemon=True, name=f"client-{i}")
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    try:
        barrier.wait(timeout=60)
    except threading.BrokenBarrierError:
        stop.set()
        raise BenchError("clients did not get ready (warm-up) within 60 s") from None
    start = time.perf_counter()
    deadline = start + budget_s
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.perf_counter()))
    if any(t.is_alive() for t in threads):
        stop.set()
        for t in threads:
            t.join(timeout=60)
    latencies = [x for out in per_thread for x in out]
    end = max(finished) if all(finished) else time.perf_counter()
    return Series(latencies, end - start, errors)


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise BenchError(f"{response.request.method} {response.request.url.path} -> "
                         f"{response.status_code} (expected {status}): {response.text[:200]}")
    return response


class ApiDriver:
    """Clients bound to one server and token, the project's load balancers, and the rows."""

    def __init__(self, server: LbaasServer, database: str, profile: Profile,
                 console: Console) -> None:
        self.server = server
        self.database = database
        self.profile = profile
        self.console = console
        self.result = DatabaseResult(database)
        self.lb_ids: list[str] = []
        self.subnet_id = ""
        self.floor: dict[int, float] = {}
        self._show_order: list[str] = []
        self._ids_lock = threading.Lock()
        self._stack = ExitStack()
        self.clients: list[httpx.Client] = []

    def __enter__(self) -> ApiDriver:
        admin = self.server.token("bench-admin", "admin")
        member = self.server.token("bench", "member")
        with httpx.Client(base_url=self.server.base_url, timeout=30.0,
                          headers={"X-Auth-Token": admin}) as client:
            net = _expect(client.post("/v2.0/networks", json={"network": {
                "name": "bench", "shared": True}}), 201).json()["network"]
            sub = _expect(client.post("/v2.0/subnets", json={"subnet": {
                "network_id": net["id"], "name": "bench", "cidr": "10.64.0.0/16"}}), 201)
            self.subnet_id = sub.json()["subnet"]["id"]
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.clients = [self._stack.enter_context(httpx.Client(
            base_url=self.server.base_url, timeout=30.0, limits=limits,
            headers={"X-Auth-Token": member})) for _ in range(MAX_CLIENTS)]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- requests -------------------------------------------------------------------------

    def _healthcheck(self, client: httpx.Client, _i: int = 0) -> None:
        _expect(client.get("/healthcheck"), 200)

    def _list(self, client: httpx.Client, _i: int = 0) -> None:
        _expect(client.get(LB_PATH), 200)

    def _show(self, client: httpx.Client, i: int) -> None:
        _expect(client.get(f"{LB_PATH}/{self._show_order[i % len(self._show_order)]}"), 200)

    def _create(self, client: httpx.Client, i: int) -> None:
        body = {"loadbalancer": {"vip_subnet_id": self.subnet_id, "name": f"bench-{i}"}}
        lb_id = _expect(client.post(LB_PATH, json=body), 201).json()["loadbalancer"]["id"]
        with self._ids_lock:
            self.lb_ids.append(lb_id)

    # -- phases ---------------------------------------------------------------------------

    def measure(self, operation: str, clients: int, total: int, lbs: str,
                call: Callable[[httpx.Client, int], None],
                warmup: Callable[[httpx.Client], None] | None) -> Row:
        """Measure one series and append its row (ratios are filled in by :meth:`finish`)."""
        cpu_before = self.server.cpu_seconds()
        series = run_series(self.clients[:clients], total, self.profile.budget_s, call, warmup)
        cpu_used = self.server.cpu_seconds() - cpu_before
        if series.errors:
            self.result.notes.append(f"{operation} ({clients} clients): {len(series.errors)} "
                                     f"failed requests, first: {series.errors[0]}")
        if not series.latencies:
            raise BenchError(f"{operation} with {clients} clients: no request succeeded")
        stats = summarize(series.latencies, series.wall_s)
        row = Row(self.database, operation, lbs, clients, stats.n, stats.p50_ms, stats.p99_ms,
                  stats.rps, errors=len(series.errors),
                  server_cpu_ms=cpu_used * 1000 / (stats.n + len(series.errors)))
        self.result.rows.append(row)
        tag = escape(f"[{self.database}]")
        self.console.log(f"{tag} {operation:<11} lbs={lbs:<9} clients={clients} "
                         f"n={stats.n:<5} p50={stats.p50_ms:7.2f} ms "
                         f"p99={stats.p99_ms:7.2f} ms {stats.rps:8.1f} req/s "
                         f"server CPU {row.server_cpu_ms:.2f} ms/req")
        return row

    def populate(self, target: int) -> None:
        """Create load balancers (unmeasured, 4 clients) until the project holds ``target``."""
        missing = target - len(self.lb_ids)
        if missing > 0:
            series = run_series(self.clients, missing, self.profile.populate_timeout_s,
                                self._create)
            if series.errors or len(self.lb_ids) < target:
                first = series.errors[0] if series.errors else "timeout"
                raise BenchError(f"populating {target} load balancers: {len(self.lb_ids)} made "
                                 f"({len(series.errors)} errors, first: {first})")
        self.settle()

    def settle(self) -> None:
        """Wait until the noop provider has made every load balancer ACTIVE, so that its
        background writes do not disturb the next measurement."""
        deadline = time.monotonic() + self.profile.settle_timeout_s
        client = self.clients[0]
        params = {"provisioning_status": "PENDING_CREATE", "fields": "id", "limit": "1"}
        while _expect(client.get(LB_PATH, params=params), 200).json()["loadbalancers"]:
            if time.monotonic() > deadline:
                raise BenchError("load balancers still PENDING_CREATE after "
                                 f"{self.profile.settle_timeout_s:.0f}s")
            time.sleep(0.05)

    def check_list_size(self) -> None:
        """The list must return every load balancer of the project (one page)."""
        got = len(_expect(self.clients[0].get(LB_PATH), 200).json()["loadbalancers"])
        if got != len(self.lb_ids):
            self.result.notes.append(f"list returned {got} of {len(self.lb_ids)} load "
                                     "balancers (pagination limit?)")

    def run(self) -> DatabaseResult:
        """All series for this database: floor, then list/show/create at each level
        (call :meth:`finish` afterwards for the ratios)."""
        p = self.profile
        for clients in (1, MAX_CLIENTS):
            row = self.measure("healthcheck", clients, p.n_health, "—", self._healthcheck,
                               self._healthcheck)
            self.floor[clients] = row.p50_ms
        for level in p.levels:
            self.populate(level)
            self.check_list_size()
            count = str(len(self.lb_ids))
            for clients in (1, MAX_CLIENTS):
                self.measure("list", clients, p.n_list, count, self._list, self._list)
            if self.lb_ids:
                self._show_order = random.sample(self.lb_ids, len(self.lb_ids))
                for clients in (1, MAX_CLIENTS):
                    self.measure("show", clients, p.n_show, count,
                                 self._show, lambda c: self._show(c, random.randrange(10**6)))
            for clients in (1, MAX_CLIENTS):
                before = len(self.lb_ids)
                row = self.measure("create", clients, p.n_create,
                                   f"{before}→{before + p.n_create}", self._create,
                                   self._healthcheck)
                row.lbs = f"{before}→{len(self.lb_ids)}"
                self.settle()
        return self.result

    def finish(self) -> None:
        """Fill in the ratios against Octavia's quoted numbers and against the floor."""
        for row in self.result.rows:
            floor = self.floor.get(row.clients)
            if floor and row.operation != "healthcheck":
                row.vs_floor = row.p50_ms / floor
            elif row.operation == "healthcheck":
                row.vs_floor = 1.0
            ref = OCTAVIA.get(row.operation)
            if ref is None or (ref.lbs is not None and row.lbs != str(ref.lbs)):
                continue
            row.octavia_p50_ms, row.octavia_rps = ref.p50_ms, ref.single_stream_rps
            row.speedup = ref.p50_ms / row.p50_ms
            row.rps_ratio = row.rps / ref.single_stream_rps
            if row.clients == 1:
                quoted_rps_ok = ref.rps is None or row.rps_ratio >= GOAL
                row.goal_met = row.speedup >= GOAL and quoted_rps_ok
            else:
                row.goal_met = row.rps_ratio >= GOAL


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
