"""Metrics scrape: time and size of one agent's Prometheus endpoint with 1,000 load balancers.

    uv run python -m bench.metrics_scrape [--quick] [--count N] [--rounds R] [--json FILE]

Setup: ``--count`` real haproxy processes (default 1,000; ``--quick`` 5), each running the
config the agent renders for a load balancer with one HTTP listener and one round-robin pool of
two members with a TCP health monitor (every 5 s), started by the agent's own process manager
(:class:`lbaas.drivers.haproxy.process.HaproxyProcess`). Loopback only, without namespaces:
listener ``127.77.x.y:8080``, members on ``127.0.0.1`` (nothing listens there: the checks
fail and the members are DOWN; no traffic flows). The endpoint is the agent's
(:mod:`lbaas.agent.metrics.collector` behind :mod:`lbaas.agent.metrics.endpoint`) on a free
loopback port with a scrape token, read by ``curl`` sending it as a bearer (another process, as
Prometheus is; its ``time_total``).

Measured, ``--rounds`` scrapes each (first one untimed, warming up):

* the endpoint with 1, 4 (the agent's setting, :data:`SCRAPE_THREADS`) and 8 reader threads:
  wall time per scrape (median, max), size, series;
* the floor of the same run: reading every exporter's raw text in one thread, without
  relabelling or HTTP (``exporter.scrape`` in a loop).

Ratios: median scrape time / the 1 s goal (issue 13), and / the floor. Also the agent's CPU
time per scrape (all its threads; the haproxies' own work is not in it), which depends less on
what else the machine runs than the wall time. The teardown (registered
before anything starts) stops every haproxy and deletes the state, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.common import BenchError, Column, fmt, print_table, sigterm_exits
from bench.report import wide_console
from bench.run import finish
from lbaas.agent.metrics.collector import SCOPES, SCRAPE_THREADS, MetricsCollector, Target
from lbaas.agent.metrics.counters import AgentMetrics
from lbaas.agent.metrics.endpoint import MetricsEndpoint
from lbaas.core.scrape_token import ScrapeToken
from lbaas.core.tree import (
    HealthMonitorNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
    SubnetNode,
)
from lbaas.drivers.haproxy import exporter
from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.view import ConfigRuntimePaths

GOAL_S = 1.0
THREADS = (1, SCRAPE_THREADS, 8)
START_THREADS = 4
LISTEN_PORT = 8080
CHECK_DELAY = 5
"""Seconds between TCP checks of each member: with checks, HAProxy adds ~40 series per load
balancer (check status per state, failures, durations)."""


@dataclasses.dataclass(frozen=True)
class Params:
    count: int
    rounds: int


FULL = Params(count=1000, rounds=5)
QUICK = Params(count=5, rounds=2)


def _log(message: str) -> None:
    print(f"[metrics_scrape {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
          flush=True)


def bench_tree(number: int) -> LoadBalancerTree:
    """Load balancer ``number``: an HTTP listener on 127.77.x.y, a pool of two members with
    a TCP health monitor (nothing listens on the members' ports: they are DOWN)."""
    lb_id = str(uuid.uuid4())
    return LoadBalancerTree(
        id=lb_id, name=f"bench-{number}", project_id=uuid.uuid4().hex,
        vip_address=f"127.77.{number // 250}.{number % 250 + 1}", vip_network_id="bench",
        vip_subnet=SubnetNode(id="bench", network_id="bench", cidr="127.0.0.0/8"),
        provisioning_status="ACTIVE",
        listeners=[ListenerNode(id=str(uuid.uuid4()), protocol="HTTP",
                                protocol_port=LISTEN_PORT, default_pool_id=f"{lb_id}-pool")],
        pools=[PoolNode(id=f"{lb_id}-pool", protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                        healthmonitor=HealthMonitorNode(id=f"{lb_id}-hm", type="TCP",
                                                        delay=CHECK_DELAY, timeout=1,
                                                        max_retries=1),
                        members=[MemberNode(id=str(uuid.uuid4()), address="127.0.0.1",
                                            protocol_port=9 + member) for member in (0, 1)])])


@contextmanager
def running_haproxies(count: int) -> Iterator[list[Target]]:
    """``count`` haproxies, each a rendered load balancer; all stopped and deleted on exit."""
    state = Path(tempfile.mkdtemp(prefix="lbaas-bench-metrics-"))
    started: list[HaproxyProcess] = []
    try:
        def start(number: int) -> Target:
            tree = bench_tree(number)
            proc = HaproxyProcess(tree.id, state)
            started.append(proc)
            paths = ConfigRuntimePaths(stats_socket=str(proc.paths.stats_socket),
                                       server_state_file=str(proc.paths.servers_state),
                                       metrics_socket=str(proc.paths.metrics_socket))
            proc.ensure_directory()
            proc.apply(render_haproxy_config(tree, paths, max_connections=100))
            return Target(tree, str(proc.paths.metrics_socket))

        with ThreadPoolExecutor(START_THREADS) as pool:
            targets = []
            for target in pool.map(start, range(count)):
                targets.append(target)
                if len(targets) % 100 == 0:
                    _log(f"started {len(targets)}/{count} haproxies")
        yield targets
    finally:
        _log(f"stopping {len(started)} haproxies")
        with ThreadPoolExecutor(START_THREADS) as pool:
            list(pool.map(lambda proc: proc.remove_state(), started))
        shutil.rmtree(state, ignore_errors=True)


def time_endpoint(targets: list[Target], threads: int, rounds: int) -> dict[str, Any]:
    """Scrapes of the agent's endpoint over HTTP with ``threads`` exporter readers."""
    collector = MetricsCollector(lambda: targets, AgentMetrics(), threads=threads)
    secret = secrets.token_urlsafe(32)  # scraped as Prometheus does: with the bearer token
    endpoint = MetricsEndpoint("127.0.0.1:0", collector.collect, ScrapeToken(secret))
    authorization = f"Authorization: Bearer {secret}"
    endpoint.start()
    times: list[float] = []
    cpu: list[float] = []
    try:
        url = f"http://{endpoint.address}/metrics"
        for number in range(rounds + 1):
            cpu_before = time.process_time()
            # The header on stdin: a token never goes on a command line (ps shows it).
            done = subprocess.run(["curl", "-sSf", "-o", "/dev/null", "-w", "%{time_total}",
                                   "-H", "@-", url], input=authorization + "\n",
                                  capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise BenchError(f"curl {url} failed: {done.stderr.strip()}")
            if number:  # the first one warms up
                times.append(float(done.stdout))
                cpu.append(time.process_time() - cpu_before)
        answer = httpx.get(url, timeout=120,  # untimed: what it holds
                           headers={"Authorization": f"Bearer {secret}"})
        answer.raise_for_status()
        size = len(answer.content)
        lines = [line for line in answer.text.split("\n") if line and not line.startswith("#")]
        series = len(lines)
        up = sum(1 for line in lines
                 if line.startswith("lbaas_haproxy_up{") and line.endswith(" 1"))
    finally:
        endpoint.stop()
        collector.close()
    return {"threads": threads, "times": times, "median_s": statistics.median(times),
            "max_s": max(times), "cpu_s": statistics.median(cpu), "bytes": size,
            "series": series, "up": up}


def time_floor(targets: list[Target], rounds: int) -> dict[str, Any]:
    """Every exporter's raw text read in one thread: no relabelling, no HTTP."""
    times: list[float] = []
    size = 0
    for number in range(rounds + 1):
        t0 = time.perf_counter()
        size = sum(len(exporter.scrape(t.socket, scopes=SCOPES)) for t in targets)
        if number:
            times.append(time.perf_counter() - t0)
    return {"times": times, "median_s": statistics.median(times), "bytes": size}


def measure(params: Params) -> dict[str, Any]:
    with running_haproxies(params.count) as targets:
        _log("measuring")
        floor = time_floor(targets, params.rounds)
        runs = [time_endpoint(targets, threads, params.rounds) for threads in THREADS]
    return {"count": params.count, "floor": floor, "runs": runs}


def print_result(result: dict[str, Any]) -> None:
    floor = result["floor"]
    rows = []
    for run in result["runs"]:
        agent = " (agent)" if run["threads"] == SCRAPE_THREADS else ""
        rows.append([f"endpoint, {run['threads']} reader thread(s){agent}",
                     fmt(run["median_s"] * 1000), fmt(run["max_s"] * 1000),
                     fmt(run["cpu_s"] * 1000),
                     f"{run['bytes'] / 1e6:.1f} MB", f"{run['series']:,}",
                     f"{run['up']:,} / {result['count']:,}",
                     fmt(run["median_s"] / GOAL_S), fmt(run["median_s"] / floor["median_s"])])
    rows.append(["floor: raw exporter texts, 1 thread", fmt(floor["median_s"] * 1000), "", "",
                 f"{floor['bytes'] / 1e6:.1f} MB", "", "", fmt(floor["median_s"] / GOAL_S),
                 "1.00"])
    print_table(
        f"One agent's metrics scrape with {result['count']:,} load balancers "
        "(1 HTTP listener, 1 pool, 2 members, a health monitor each)",
        [Column("what", "left"), Column("median ms"), Column("max ms"),
         Column("agent CPU ms"), Column("size"),
         Column("series"), Column("haproxy up"), Column("median / 1 s goal (x)"),
         Column("median / floor (x)")], rows, console=wide_console(),
        caption="goal: median / 1 s goal below 1.00")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_scrape", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 load balancers (smoke test)")
    parser.add_argument("--count", type=int, help="load balancers (haproxies) to run")
    parser.add_argument("--rounds", type=int, help="timed scrapes per setting")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    params = dataclasses.replace(params, **{
        k: v for k, v in (("count", args.count), ("rounds", args.rounds)) if v is not None})
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        result = measure(params)
    print_result(result)
    finish(started, args.json, params, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
