"""Data plane: requests/s and p99 latency through an lbaas load balancer, compared in the same
run with a hand-written minimal haproxy on the same backends and with one backend directly.

    uv run python -m bench.dataplane [--quick] [--duration S] [--repeats N] [--json FILE]

Setup (see :mod:`bench.lab`): two nginx backends (one worker each, fixed 5-byte body), a client
namespace running wrk, the lbaas stack's load balancer (HTTP listener, round-robin pool over both
backends, HTTP health monitor every second), and a hand-written haproxy in its own namespace on
the same bridge (``nbthread 1``, ``maxconn 8000``, mode http, round robin, no checks). Both
haproxies run one thread.

Each target is measured with identical wrk parameters, keep-alive and a new connection per
request (``-H 'Connection: close'``), several times with the targets interleaved; the table shows
medians. Goal (informational): the load balancer reaches at least 0.95 of the hand-written
haproxy's requests/s.
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

from bench.common import Column, fmt, print_table, process_cpu_seconds, sigterm_exits
from bench.lab import backend_ip, backend_members, backend_servers, hand_ip
from bench.procstat import process_tree
from bench.report import goal, median, ratio, wide_console
from bench.run import Deadline, WrkParams, chosen_params, finish, wrk_parser
from bench.servers import HandHaproxy, hand_config
from bench.stack import bench_stack, full_tree
from bench.wrk import WrkResult, run_wrk

GOAL_RATIO = 0.95
TARGETS = ("lbaas LB", "hand-written haproxy", "one backend direct")
VARIANTS = ("keep-alive", "new conn/request")


Params = WrkParams
FULL = Params(duration=8, repeats=5, threads=2, connections=50)
QUICK = Params(duration=1, repeats=1, threads=2, connections=32)


def measure(params: Params, deadline: Deadline) -> dict[str, Any]:
    runs: dict[tuple[str, str], list[WrkResult]] = {}
    cpu_per_request: dict[tuple[str, str], list[float]] = {}
    with bench_stack() as st:
        st.backend(0, "WEB0")
        st.backend(1, "WEB1")
        client = st.client()
        servers = backend_servers(2)
        hand_host = st.host("hp", hand_ip(0))
        hand = HandHaproxy(hand_host, st.workdir)
        hand.write(hand_config(f"{hand_ip(0)}:80", servers))
        hand.check()
        hand.start()
        # Like with like: the hand-written haproxy logs nothing, so the lbaas listener has
        # its access log off; what access logs cost is measured by bench/access_log.py.
        lb = st.answering_lb(client, full_tree(backend_members(2), access_log=False))
        vip = lb["vip_address"]
        urls = {TARGETS[0]: f"http://{vip}/", TARGETS[1]: f"http://{hand_ip(0)}/",
                TARGETS[2]: f"http://{backend_ip(0)}/"}
        pids_of = {TARGETS[0]: lambda: st.lb_pids(lb["id"]), TARGETS[1]: hand.pids,
                   TARGETS[2]: lambda: process_tree(st.servers[0].pid)}
        for url in urls.values():  # warm-up: connections, caches, ARP
            run_wrk(client, url, threads=1, connections=4, duration=1)
        for variant in VARIANTS:
            for rep in range(params.repeats):
                if deadline.expired():
                    break
                order = list(TARGETS[rep % 3:] + TARGETS[:rep % 3])  # rotate: spread noise
                for target in order:
                    pids = pids_of[target]()
                    cpu_before = sum(process_cpu_seconds(pid) for pid in pids)
                    result = run_wrk(client, urls[target], threads=params.threads,
                                     connections=params.connections,
                                     duration=params.duration,
                                     close=variant != VARIANTS[0])
                    cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu_before
                    runs.setdefault((variant, target), []).append(result)
                    cpu_per_request.setdefault((variant, target), []).append(
                        cpu / result.requests * 1e6)
                st.check_intact([lb["id"]])
        lb_config = st.process(lb["id"]).paths.config.read_text()
    return {"runs": runs, "cpu": cpu_per_request, "lb_config": lb_config}


def summarize(runs: dict[tuple[str, str], list[WrkResult]],
              cpu: dict[tuple[str, str], list[float]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for variant in VARIANTS:
        hand = runs.get((variant, TARGETS[1]), [])
        hand_rps = median([r.rps for r in hand])
        hand_p99 = median([r.p99_ms for r in hand])
        hand_cpu = median(cpu.get((variant, TARGETS[1]), []))
        for target in TARGETS:
            results = runs.get((variant, target), [])
            if not results:
                continue
            rps = median([r.rps for r in results])
            p99 = median([r.p99_ms for r in results])
            cpu_us = median(cpu.get((variant, target), []))
            rps_ratio = ratio(rps, hand_rps)
            rows.append({
                "variant": variant, "target": target, "runs": len(results),
                "rps": rps, "rps_all": [round(r.rps) for r in results],
                "p50_ms": median([r.p50_ms for r in results]), "p99_ms": p99,
                "errors": sum(r.errors for r in results),
                "cpu_us_per_request": cpu_us,
                "rps_vs_hand": rps_ratio, "p99_vs_hand": ratio(p99, hand_p99),
                "cpu_vs_hand": ratio(cpu_us, hand_cpu),
                "goal_met": (rps_ratio >= GOAL_RATIO) if target == TARGETS[0] else None,
            })
    return rows


def print_rows(rows: list[dict[str, Any]], params: Params) -> None:
    columns = [Column("variant", "left"), Column("target", "left"), Column("runs"),
               Column("req/s (median)"), Column("p50 ms"), Column("p99 ms"), Column("errors"),
               Column("server CPU µs/req"), Column("req/s ÷ hand"), Column("p99 ÷ hand"),
               Column("CPU/req ÷ hand"), Column("goal ≥ 0.95", "left")]
    cells = [[r["variant"], r["target"], str(r["runs"]), fmt(r["rps"]), fmt(r["p50_ms"]),
              fmt(r["p99_ms"]), str(r["errors"]), fmt(r["cpu_us_per_request"]),
              fmt(r["rps_vs_hand"]), fmt(r["p99_vs_hand"]), fmt(r["cpu_vs_hand"]),
              goal(r["goal_met"]) if r["target"] == TARGETS[0] else ""] for r in rows]
    print_table(
        "Data plane: through the load balancer vs hand-written haproxy vs one backend", columns,
        cells, console=wide_console(),
        caption=(f"wrk -t{params.threads} -c{params.connections} -d{params.duration:g}s "
                 f"--latency, {params.repeats} run(s) per cell, medians. Server CPU: "
                 "user+system time of the haproxy master+workers (nginx for the direct "
                 "row) per request, less sensitive to other load on the machine than req/s. "
                 "Ratios against the "
                 "hand-written haproxy measured in the same run. Goal is informational."))


def main(argv: list[str] | None = None) -> int:
    parser = wrk_parser("python -m bench.dataplane", __doc__, "runs per target and variant")
    args = parser.parse_args(argv)
    params = chosen_params(QUICK, FULL, args)
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        measured = measure(params, Deadline(args.timeout))
    rows = summarize(measured["runs"], measured["cpu"])
    print_rows(rows, params)
    finish(started, args.json, params, {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
