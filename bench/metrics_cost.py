"""Metrics scraping: requests/s through one load balancer while it is scraped vs not, same run.

    uv run python -m bench.metrics_cost [--quick] [--duration S] [--repeats N] [--json FILE]

Setup (see :mod:`bench.lab`): two nginx backends, a client namespace running wrk, and one load
balancer with an HTTP listener on port 80 (its access log off: ``bench.access_log`` measures
that cost) and a PROMETHEUS listener on port 9100. The agent serves its ``/metrics`` on a free
loopback port with a scrape token. Three sides, measured with identical wrk parameters:

* not scraped;
* operator scrape: the agent's ``/metrics`` read with its bearer token by another process in the
  root namespace (:mod:`bench.scraper`), every ``--interval`` seconds;
* tenant scrape: the PROMETHEUS listener read from the client namespace (through the load
  balancer's own haproxy to the agent's service), every ``--interval`` seconds.

The default interval, 1 s, is 10-15 times more often than a usual Prometheus scrape interval (10
to 15 s): a deliberately heavy load. Each repeat measures the three sides back to back, the order
rotating between repeats (paired and interleaved: the machine's noise hits all alike); the table
shows each side's median req/s, the median of the per-repeat ratios scraped ÷ not scraped,
keep-alive and a new connection per request, and the scrape latencies seen meanwhile.
Goal (informational, issue 13): scraped ÷ not scraped req/s >= 0.95.

Before the wrk runs, a second table prices one scrape of each kind without traffic: each
scraper scrapes back to back for a few seconds and the CPU time of the load balancer's haproxy,
of this process (where the in-process agent runs) and of the scraper is divided by the scrapes.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench.common import Column, fmt, percentile, print_table, process_cpu_seconds, sigterm_exits
from bench.lab import backend_members
from bench.report import goal, median, ratio, wide_console
from bench.run import Deadline, WrkParams, chosen_params, finish, wrk_parser
from bench.scraper import BackgroundScraper, ScrapeStats
from bench.stack import BenchStack, bench_stack, full_tree
from bench.wrk import WrkResult, run_wrk
from lbaas.core.scrape_token import create_token_file

GOAL_RATIO = 0.95
SIDES = ("not scraped", "operator scrape", "tenant scrape")
VARIANTS = ("keep-alive", "new conn/request")
METRICS_PORT = 9100
TOKEN_DIR_PREFIX = "lbaas-metrics-cost-"
# A series each scrape's answer must hold (else it counts as failed).
EXPECTED = {SIDES[1]: "lbaas_haproxy_up{", SIDES[2]: "octavia_loadbalancer_cpu"}


@dataclasses.dataclass(frozen=True)
class Params(WrkParams):
    interval: float
    idle_seconds: float


FULL = Params(duration=8, repeats=5, threads=2, connections=50, interval=1.0, idle_seconds=5)
QUICK = Params(duration=1, repeats=1, threads=2, connections=32, interval=0.5, idle_seconds=1)
IDLE_INTERVAL = 0.02  # back to back, near enough: per-scrape CPU over many scrapes


@dataclasses.dataclass
class Run:
    """One wrk run of one side: its result, the CPU used meanwhile and the scrapes made."""

    wrk: WrkResult
    haproxy_cpu_s: float
    process_cpu_s: float
    scrapes: ScrapeStats | None


def tree() -> dict[str, Any]:
    body = full_tree(backend_members(2), name="scraped")
    body["listeners"][0]["lbaas:access_log"] = False
    body["listeners"].append({"name": "scraped-metrics", "protocol": "PROMETHEUS",
                              "protocol_port": METRICS_PORT})
    return body


def start_scraper(st: BenchStack, side: str, interval: float, scrape_urls: dict[str, str],
                  token: str) -> BackgroundScraper | None:
    """The scraper of ``side`` (None for the unscraped side), its first scrape done."""
    if side == SIDES[1]:
        return BackgroundScraper(None, scrape_urls[side], interval, EXPECTED[side], token)
    if side == SIDES[2]:
        return BackgroundScraper(st.hosts["cl"], scrape_urls[side], interval, EXPECTED[side])
    return None


class CpuMeter:
    """CPU seconds used since its creation by the load balancer's haproxy and by this process
    (the in-process agent)."""

    def __init__(self, st: BenchStack, lb_id: str) -> None:
        self.pids = st.lb_pids(lb_id)
        self.start = self._now()

    def _now(self) -> tuple[float, float]:
        return (sum(process_cpu_seconds(pid) for pid in self.pids),
                process_cpu_seconds(os.getpid()))

    def since(self) -> tuple[float, float]:
        now = self._now()
        return now[0] - self.start[0], now[1] - self.start[1]


def measure_side(st: BenchStack, lb_id: str, side: str, url: str, close: bool,
                 params: Params, scrape_urls: dict[str, str], token: str) -> Run:
    scraper = start_scraper(st, side, params.interval, scrape_urls, token)
    meter = CpuMeter(st, lb_id)
    try:
        result = run_wrk(st.hosts["cl"], url, threads=params.threads,
                         connections=params.connections, duration=params.duration, close=close)
    finally:
        scrapes = scraper.stop() if scraper else None
    haproxy_s, process_s = meter.since()
    return Run(wrk=result, haproxy_cpu_s=haproxy_s, process_cpu_s=process_s, scrapes=scrapes)


def idle_cost(st: BenchStack, lb_id: str, side: str, seconds: float,
              scrape_urls: dict[str, str], token: str) -> dict[str, Any]:
    """CPU per scrape of haproxy, the agent and the scraper, scraping back to back for
    ``seconds`` without traffic: what a scrape costs, free of the wrk runs' noise."""
    scraper = start_scraper(st, side, IDLE_INTERVAL, scrape_urls, token)
    assert scraper is not None
    meter = CpuMeter(st, lb_id)
    try:
        time.sleep(seconds)
    finally:
        stats = scraper.stop()
    haproxy_s, process_s = meter.since()
    count = len(stats.latencies_s)
    return {"side": side, "scrapes": count, "failures": len(stats.failures),
            "bytes": stats.size,
            "haproxy_ms": ratio(haproxy_s, count) * 1000,
            "agent_ms": ratio(process_s, count) * 1000,
            "scraper_ms": ratio(stats.cpu_s, count) * 1000,
            "latency_p50_ms": percentile(stats.latencies_s, 50) * 1000 if count else math.nan}


def measure(params: Params, deadline: Deadline) -> dict[str, Any]:
    runs: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix=TOKEN_DIR_PREFIX) as secrets_dir:
        token_file = create_token_file(Path(secrets_dir) / "metrics.token")
        token = token_file.read_text().strip()
        with bench_stack(agent_options={"metrics_listen": "127.0.0.1:0"},
                         overrides={"metrics": {"token_file": str(token_file)}}) as st:
            st.backend(0, "WEB0")
            st.backend(1, "WEB1")
            client = st.client()
            lb = st.answering_lb(client, tree())
            vip = lb["vip_address"]
            url = f"http://{vip}/"
            scrape_urls = {SIDES[1]: f"http://{st.agent.metrics_address}/metrics",
                           SIDES[2]: f"http://{vip}:{METRICS_PORT}/metrics"}
            run_wrk(client, url, threads=1, connections=4, duration=1)  # warm-up
            idle = [idle_cost(st, lb["id"], side, params.idle_seconds, scrape_urls, token)
                    for side in SIDES[1:]]
            for variant in VARIANTS:
                for rep in range(params.repeats):
                    if deadline.expired():
                        break
                    for side in SIDES[rep % 3:] + SIDES[:rep % 3]:  # rotate: spread noise
                        run = measure_side(st, lb["id"], side, url, variant != VARIANTS[0],
                                           params, scrape_urls, token)
                        runs.setdefault((variant, side), []).append(run)
                    st.check_intact([lb["id"]])
    return {"runs": runs, "idle": idle}


def summarize(runs: dict[tuple[str, str], list[Run]]) -> list[dict[str, Any]]:
    rows = []
    for variant in VARIANTS:
        quiet = runs.get((variant, SIDES[0]), [])
        for side in SIDES[1:]:
            scraped = runs.get((variant, side), [])
            if not quiet or not scraped:
                continue
            pairs = list(zip(scraped, quiet, strict=False))
            ratios = [ratio(a.wrk.rps, b.wrk.rps) for a, b in pairs]
            latencies = [s for run in scraped if run.scrapes
                         for s in run.scrapes.latencies_s]
            scrapes = sum(len(run.scrapes.latencies_s) for run in scraped if run.scrapes)
            extra_cpu = [ratio(a.process_cpu_s - b.process_cpu_s, len(a.scrapes.latencies_s))
                         for a, b in pairs if a.scrapes and a.scrapes.latencies_s]
            paired = median(ratios)
            rows.append({
                "variant": variant, "side": side, "pairs": len(pairs),
                "rps_scraped": median([r.wrk.rps for r in scraped]),
                "rps_not": median([r.wrk.rps for r in quiet]),
                "p99_scraped_ms": median([r.wrk.p99_ms for r in scraped]),
                "p99_not_ms": median([r.wrk.p99_ms for r in quiet]),
                "errors": sum(r.wrk.errors for r in scraped + quiet),
                "haproxy_us_per_req_scraped": median(
                    [r.haproxy_cpu_s / r.wrk.requests * 1e6 for r in scraped]),
                "haproxy_us_per_req_not": median(
                    [r.haproxy_cpu_s / r.wrk.requests * 1e6 for r in quiet]),
                "scrapes": scrapes,
                "scrape_failures": sum(len(r.scrapes.failures) for r in scraped if r.scrapes),
                "scrape_p50_ms": percentile(latencies, 50) * 1000 if latencies else float("nan"),
                "scrape_max_ms": max(latencies) * 1000 if latencies else float("nan"),
                "scrape_bytes": max((r.scrapes.size for r in scraped if r.scrapes), default=0),
                "extra_process_cpu_ms_per_scrape": median(extra_cpu) * 1000,
                "ratio": paired, "ratios": [round(value, 3) for value in ratios],
                "goal_met": paired >= GOAL_RATIO,
            })
    return rows


def print_rows(rows: list[dict[str, Any]], params: Params) -> None:
    columns = [Column("variant", "left"), Column("scraped by", "left"), Column("pairs"),
               Column("req/s scraped"), Column("req/s not"), Column("errors"),
               Column("haproxy µs/req scraped"), Column("haproxy µs/req not"),
               Column("scrapes (failed)"), Column("scrape p50 ms"), Column("scrape max ms"),
               Column("scraped ÷ not (median of pairs)"),
               Column("goal ≥ 0.95", "left")]
    cells = [[r["variant"], r["side"].removesuffix(" scrape"), str(r["pairs"]),
              fmt(r["rps_scraped"]), fmt(r["rps_not"]), str(r["errors"]),
              fmt(r["haproxy_us_per_req_scraped"]), fmt(r["haproxy_us_per_req_not"]),
              f"{r['scrapes']} ({r['scrape_failures']})", fmt(r["scrape_p50_ms"]),
              fmt(r["scrape_max_ms"]), fmt(r["ratio"]), goal(r["goal_met"])] for r in rows]
    print_table(
        "Metrics scraping: one load balancer, scraped every "
        f"{params.interval:g} s vs not scraped", columns, cells, console=wide_console(),
        caption=(f"wrk -t{params.threads} -c{params.connections} -d{params.duration:g}s, "
                 f"{params.repeats} repeat(s) per variant, the three sides in rotating order. "
                 "operator: the agent's /metrics with its bearer token, from the root namespace; "
                 "tenant: the PROMETHEUS listener, from the client namespace. A scrape every "
                 f"{params.interval:g} s is {10 / params.interval:g}-{15 / params.interval:g} "
                 "times more often than usual (10-15 s). p99 latencies and this process's (the "
                 "agent's) CPU beyond the unscraped run per scrape: --json. Goal is "
                 "informational."))


def print_idle(idle: list[dict[str, Any]], params: Params) -> None:
    columns = [Column("scraped by", "left"), Column("scrapes (failed)"), Column("bytes"),
               Column("latency p50 ms"), Column("haproxy CPU ms/scrape"),
               Column("agent CPU ms/scrape"), Column("scraper CPU ms/scrape"),
               Column(f"LB side, % of a core at 1 scrape/{params.interval:g} s")]
    cells = [[r["side"].removesuffix(" scrape"), f"{r['scrapes']} ({r['failures']})",
              fmt(r["bytes"]), fmt(r["latency_p50_ms"]), fmt(r["haproxy_ms"]),
              fmt(r["agent_ms"]), fmt(r["scraper_ms"]),
              fmt((r["haproxy_ms"] + r["agent_ms"]) / 10 / params.interval)] for r in idle]
    print_table(
        "Cost of one scrape (no traffic)", columns, cells, console=wide_console(),
        caption=(f"Scraped back to back for {params.idle_seconds:g} s before the wrk runs; CPU "
                 "time (user+system) divided by the scrapes. agent: this whole process (the "
                 "in-process agent, API and benchmark; idle otherwise). LB side: haproxy + "
                 "agent, what the load balancer's host spends (the scraper is Prometheus's)."))


def main(argv: list[str] | None = None) -> int:
    parser = wrk_parser("python -m bench.metrics_cost", __doc__, "repeats per variant")
    parser.add_argument("--interval", type=float, help="seconds between scrapes (default 1)")
    args = parser.parse_args(argv)
    params = chosen_params(QUICK, FULL, args)
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        measured = measure(params, Deadline(args.timeout))
    rows = summarize(measured["runs"])
    print_idle(measured["idle"], params)
    print_rows(rows, params)
    finish(started, args.json, params, {"rows": rows, "idle": measured["idle"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
