"""Load on an API server and its measurement: :func:`run_series` spreads ``n`` requests over
keep-alive httpx clients (one thread each, untimed warm-up first, bounded by a time budget) and
:class:`ApiDriver` measures one server (an :class:`ApiTarget`) the same way whichever it is:
the health-check floor, then list/show/create at each load-balancer level (filling the
population through the API and waiting for every load balancer to be ``ACTIVE`` between
series), and finally the ratios against the floor.

What differs between the servers is behind :class:`ApiTarget`: how the measured project is set
up and authenticated, the body of a create, the query of a project's list, and whose CPU time
counts. :class:`LbaasTarget` is lbaas's (tokens from ``lbaas token create``, a network and a
subnet registered by an admin); ``bench.octavia_peer.OctaviaPeer`` is the real Octavia's.

Used by ``bench.api`` (one :class:`ApiDriver` per database, and one for Octavia with
``--octavia``).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Protocol

import httpx
from rich.console import Console
from rich.markup import escape

from bench.api_results import MAX_CLIENTS, DatabaseResult, Profile, Row
from bench.common import BenchError, LbaasServer, summarize

LB_PATH = "/v2/lbaas/loadbalancers"


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


class ApiTarget(Protocol):
    """A running API server that :class:`ApiDriver` measures."""

    @property
    def base_url(self) -> str: ...

    def member_headers(self) -> dict[str, str]:
        """Set up the measured project (once) and return the headers of its requests."""
        ...

    def create_fields(self) -> dict[str, object]:
        """The fields of a create's ``loadbalancer`` object besides its name (the VIP...)."""
        ...

    def list_params(self) -> dict[str, str]:
        """The query of the measured project's list of load balancers."""
        ...

    def cpu_seconds(self) -> float:
        """CPU time the server's processes have used so far."""
        ...

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log (for error messages)."""
        ...


class LbaasTarget:
    """lbaas as an :class:`ApiTarget`: an admin registers a network and a ``/16`` subnet, and
    a ``member`` of project ``bench`` does everything measured (tokens from ``lbaas token
    create``)."""

    def __init__(self, server: LbaasServer) -> None:
        self.server = server
        self.subnet_id = ""

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def member_headers(self) -> dict[str, str]:
        admin = self.server.token("bench-admin", "admin")
        member = self.server.token("bench", "member")
        with httpx.Client(base_url=self.base_url, timeout=30.0,
                          headers={"X-Auth-Token": admin}) as client:
            net = _expect(client.post("/v2.0/networks", json={"network": {
                "name": "bench", "shared": True}}), 201).json()["network"]
            sub = _expect(client.post("/v2.0/subnets", json={"subnet": {
                "network_id": net["id"], "name": "bench", "cidr": "10.64.0.0/16"}}), 201)
            self.subnet_id = sub.json()["subnet"]["id"]
        return {"X-Auth-Token": member}

    def create_fields(self) -> dict[str, object]:
        return {"vip_subnet_id": self.subnet_id}

    def list_params(self) -> dict[str, str]:
        return {}  # a member lists its own project

    def cpu_seconds(self) -> float:
        return self.server.cpu_seconds()

    def log_tail(self, lines: int = 30) -> str:
        return self.server.log_tail(lines)


class ApiDriver:
    """Clients bound to one server and project, the project's load balancers, and the rows
    (labelled ``database``: the database, or ``octavia``)."""

    def __init__(self, target: ApiTarget, database: str, profile: Profile,
                 console: Console) -> None:
        self.target = target
        self.database = database
        self.profile = profile
        self.console = console
        self.result = DatabaseResult(database)
        self.lb_ids: list[str] = []
        self.floor: dict[int, float] = {}
        self._show_order: list[str] = []
        self._create_fields: dict[str, object] = {}
        self._list_params: dict[str, str] = {}
        self._ids_lock = threading.Lock()
        self._stack = ExitStack()
        self.clients: list[httpx.Client] = []

    def __enter__(self) -> ApiDriver:
        headers = self.target.member_headers()
        self._create_fields = self.target.create_fields()
        self._list_params = self.target.list_params()
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.clients = [self._stack.enter_context(httpx.Client(
            base_url=self.target.base_url, timeout=30.0, limits=limits,
            headers=headers)) for _ in range(MAX_CLIENTS)]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- requests -------------------------------------------------------------------------

    def _healthcheck(self, client: httpx.Client, _i: int = 0) -> None:
        _expect(client.get("/healthcheck"), 200)

    def _list(self, client: httpx.Client, _i: int = 0) -> None:
        _expect(client.get(LB_PATH, params=self._list_params), 200)

    def _show(self, client: httpx.Client, i: int) -> None:
        _expect(client.get(f"{LB_PATH}/{self._show_order[i % len(self._show_order)]}"), 200)

    def _create(self, client: httpx.Client, i: int) -> None:
        body = {"loadbalancer": {**self._create_fields, "name": f"bench-{i}"}}
        lb_id = _expect(client.post(LB_PATH, json=body), 201).json()["loadbalancer"]["id"]
        with self._ids_lock:
            self.lb_ids.append(lb_id)

    # -- phases ---------------------------------------------------------------------------

    def measure(self, operation: str, clients: int, total: int, lbs: str,
                call: Callable[[httpx.Client, int], None],
                warmup: Callable[[httpx.Client], None] | None, level: int | None = None) -> Row:
        """Measure one series and append its row (ratios are filled in by :meth:`finish` and
        ``bench.api_results.compare_*``). ``level``: the load-balancer level it belongs to."""
        cpu_before = self.target.cpu_seconds()
        series = run_series(self.clients[:clients], total, self.profile.budget_s, call, warmup)
        cpu_used = self.target.cpu_seconds() - cpu_before
        if series.errors:
            self.result.notes.append(f"{operation} ({clients} clients): {len(series.errors)} "
                                     f"failed requests, first: {series.errors[0]}")
        if not series.latencies:
            raise BenchError(f"{operation} with {clients} clients: no request succeeded")
        stats = summarize(series.latencies, series.wall_s)
        row = Row(self.database, operation, lbs, clients, stats.n, stats.p50_ms, stats.p99_ms,
                  stats.rps, errors=len(series.errors),
                  server_cpu_ms=cpu_used * 1000 / (stats.n + len(series.errors)), level=level)
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
        """Wait until the provider (lbaas's noop provider, Octavia's worker) has made every
        load balancer ACTIVE, so that its background writes do not disturb the next
        measurement. Gives up when the oldest pending one has not moved for
        ``settle_timeout_s`` (Octavia's worker takes minutes for a thousand, one at a time),
        or when one went ERROR."""
        client = self.clients[0]
        params = {**self._list_params, "fields": "id", "limit": "1"}
        oldest, since, pause = "", time.monotonic(), 0.05
        while pending := self._first(client, {**params, "provisioning_status": "PENDING_CREATE"}):
            if pending != oldest:
                oldest, since, pause = pending, time.monotonic(), 0.05
            elif time.monotonic() - since > self.profile.settle_timeout_s:
                raise BenchError(f"load balancer {oldest} still PENDING_CREATE after "
                                 f"{self.profile.settle_timeout_s:.0f}s")
            time.sleep(pause)
            pause = min(1.0, pause * 1.5)  # Octavia: do not load the API the worker needs
        if failed := self._first(client, {**params, "provisioning_status": "ERROR"}):
            raise BenchError(f"load balancer {failed} went ERROR")

    @staticmethod
    def _first(client: httpx.Client, params: dict[str, str]) -> str:
        """The id of the first load balancer the list with ``params`` returns, '' if none."""
        found = _expect(client.get(LB_PATH, params=params), 200).json()["loadbalancers"]
        return str(found[0]["id"]) if found else ""

    def check_list_size(self) -> None:
        """The list must return every load balancer of the project (one page)."""
        got = len(_expect(self.clients[0].get(LB_PATH, params=self._list_params),
                          200).json()["loadbalancers"])
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
                self.measure("list", clients, p.n_list, count, self._list, self._list, level)
            if self.lb_ids:
                self._show_order = random.sample(self.lb_ids, len(self.lb_ids))
                for clients in (1, MAX_CLIENTS):
                    self.measure("show", clients, p.n_show, count, self._show,
                                 lambda c: self._show(c, random.randrange(10**6)), level)
            for clients in (1, MAX_CLIENTS):
                before = len(self.lb_ids)
                row = self.measure("create", clients, p.n_create,
                                   f"{before}→{before + p.n_create}", self._create,
                                   self._healthcheck, level)
                row.lbs = f"{before}→{len(self.lb_ids)}"
                self.settle()
        return self.result

    def finish(self) -> None:
        """Fill in the ratios against the floor (those against Octavia come once every server
        has run: ``bench.api_results.compare_quoted`` / ``compare_measured``)."""
        for row in self.result.rows:
            floor = self.floor.get(row.clients)
            if floor and row.operation != "healthcheck":
                row.vs_floor = row.p50_ms / floor
            elif row.operation == "healthcheck":
                row.vs_floor = 1.0
