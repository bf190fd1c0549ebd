"""Provisioning: from the POST of a full load balancer tree to the first successful answer
through its VIP, p50/p99 over many load balancers, against the raw cost of doing the same by
hand (a namespace with a veth made by ``ip -batch``, a hand-written haproxy started in it)
measured in the same run.

    uv run python -m bench.provisioning [--quick] [--count N] [--burst N] [--json FILE]

The tree: one HTTP listener, a round-robin pool of two nginx backends and an HTTP health
monitor. Phases:

* **sequential**: ``--count`` load balancers (default 50), one at a time: each POST, then wait
  for its first 200 through the VIP (the prober, a separate process in the client namespace,
  tries every 5 ms from the moment the POST returned), then for ACTIVE.
* **burst**: ``--burst`` load balancers (default 20) POSTed at once by 4 client threads, each
  timed from its own POST.
* **by hand** (baseline): ``--count`` times: create a namespace + veth on the bridge with
  ``ip -batch``, write a minimal config, start haproxy in it, first 200 through it.

Goals (informational): p50 under 0.5 s and p99 under 2 s for the sequential phase.

The agent's steps are timed by wrapping product functions in this process (no product code
changes): the table "where the time goes" gives p50/p99 of each step of the sequential phase.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import Column, fmt, print_table, sigterm_exits
from bench.lab import PREFIXLEN, backend_members, backend_servers, raw_ip, raw_namespace
from bench.prober import Prober
from bench.report import goal, p50_p99, print_steps, ratio, wide_console
from bench.run import Deadline, finish
from bench.servers import HandHaproxy, hand_config
from bench.stack import BenchStack, bench_stack, full_tree
from bench.timeline import Timeline, agent_hooks
from tests.netlab import Host

GOAL_P50_S = 0.5
GOAL_P99_S = 2.0

# Steps of one create, in order: (label, start mark, end mark). Marks are recorded per load
# balancer by the hooks below ("post" is the moment the client sent the POST); indented steps
# are parts of the step above them.
STEPS = (
    ("POST (API answers 201)", "post", "posted"),
    ("POST sent → cast reaches the agent", "post", "scheduled"),
    ("agent's queue → refresh starts", "scheduled", "refresh"),
    ("fetch tree (RPC get_loadbalancer)", "fetch", "fetched"),
    ("  · server side: database → tree", "srv_fetch", "srv_fetched"),
    ("render haproxy.cfg", "render", "rendered"),
    ("plug VIP", "plug", "plugged"),
    ("  · create namespace (pyroute2 vip_plug.create)", "ns", "ns_done"),
    ("  · namespace sysctls", "sysctl", "sysctl_done"),
    ("  · veth pair into the bridge", "veth", "veth_done"),
    ("  · wait for eth0 operstate UP", "oper", "oper_done"),
    ("  · gratuitous ARP", "garp", "garp_done"),
    ("haproxy -c", "validate", "validated"),
    ("start haproxy", "start", "started"),
    ("  · nsenter haproxy -W -D (until it daemonised)", "start", "wait"),
    ("  · poll the master socket until a worker answers", "wait", "wait_done"),
    ("report ACTIVE (RPC update_status)", "report", "reported"),
    ("  · server side: database update", "srv_report", "srv_reported"),
    ("first answer through the VIP (prober)", "post", "answered"),
)


@dataclasses.dataclass(frozen=True)
class Params:
    count: int
    burst: int


FULL = Params(count=50, burst=20)
QUICK = Params(count=4, burst=3)


def _tree() -> dict[str, Any]:
    return full_tree(backend_members(2))


def post_one(st: BenchStack, prober: Prober, timeline: Timeline, timeout: float = 60
             ) -> tuple[dict[str, Any], Future[tuple[bool, float, int]]]:
    """POST one tree and start waiting for its first answer through the VIP (the prober tries
    from the moment the POST returned, for ``timeout`` seconds); returns its row (without the
    answer yet) and the prober's future, for :func:`await_answer`."""
    t0 = time.monotonic()
    lb = st.post_lb(_tree())
    posted = time.monotonic()
    timeline.mark(lb["id"], "post", t0)
    timeline.mark(lb["id"], "posted", posted)
    row = {"id": lb["id"], "vip": lb["vip_address"], "post_s": posted - t0,
           "first_answer_s": None}
    return row, prober.start(lb["vip_address"], "ok", timeout=timeout)


def await_answer(row: dict[str, Any], waiting: Future[tuple[bool, float, int]],
                 timeline: Timeline, timeout: float = 60) -> dict[str, Any]:
    """Wait for the answer :func:`post_one` started waiting for; fills ``first_answer_s``
    (seconds since the POST was sent, None when the VIP never answered)."""
    answered, when, _ = waiting.result(timeout + 10)
    if answered:
        timeline.mark(row["id"], "answered", when)
        row["first_answer_s"] = when - timeline.marks[row["id"]]["post"]
    return row


def create_one(st: BenchStack, prober: Prober, timeline: Timeline) -> dict[str, Any]:
    """POST one tree and wait for its first answer; returns its timings."""
    return await_answer(*post_one(st, prober, timeline), timeline)


def sequential(st: BenchStack, prober: Prober, timeline: Timeline, count: int,
               deadline: Deadline) -> list[dict[str, Any]]:
    results = []
    for _ in range(count):
        if deadline.expired():
            break
        result = create_one(st, prober, timeline)
        t0 = timeline.marks[result["id"]]["post"]
        st.wait_active(result["id"], timeout=60)
        result["active_s"] = time.monotonic() - t0  # upper bound: API polled every 20 ms
        results.append(result)
    return results


def burst(st: BenchStack, prober: Prober, timeline: Timeline, count: int,
          timeout: float | None = None) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """POST ``count`` trees at once: 4 client threads only POST, and each load balancer is
    timed from its own POST to its first answer (``timeout``: how long each may take, default
    60 s + 1 s per load balancer). Then wait until all are ACTIVE.

    Returns the rows and the walls, seconds since the first POST was sent: ``posted_s`` (every
    POST answered 201), ``answered_s`` (every VIP answered; NaN if one never did) and
    ``active_s`` (every VIP answered and every load balancer is ACTIVE, seen by polling the
    list after the last answer)."""
    timeout = 60 + count if timeout is None else timeout
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="bench-post") as pool:
        waiting = list(pool.map(lambda _: post_one(st, prober, timeline, timeout), range(count)))
    posted = time.monotonic()
    rows = [await_answer(row, fut, timeline, timeout) for row, fut in waiting]
    answers = [timeline.marks[row["id"]].get("answered") for row in rows]
    last = max((a for a in answers if a is not None), default=float("nan"))
    answered = last - started if all(a is not None for a in answers) else float("nan")
    active = st.wait_all_active([row["id"] for row in rows], timeout) - started
    return rows, {"posted_s": posted - started, "answered_s": answered,
                  "active_s": active if answered == answered else float("nan")}


def by_hand(st: BenchStack, prober: Prober, count: int, deadline: Deadline
            ) -> list[dict[str, Any]]:
    """The baseline: namespace + veth by ``ip -batch``, haproxy started by hand."""
    servers = backend_servers(2)
    results = []
    for index in range(count):
        if deadline.expired():
            break
        ip = raw_ip(index)
        t0 = time.monotonic()
        name = raw_namespace(st.lab, st.bridge, f"r{index}", ip)
        host = Host(st.lab, name, f"{ip}/{PREFIXLEN}", name + "v")
        hand = HandHaproxy(host, st.workdir, "raw")
        hand.write(hand_config(f"{ip}:80", servers))
        hand.start(wait=False)
        namespace_done = time.monotonic()
        answered, when, _ = prober.start(ip, "ok", timeout=30).result(40)
        results.append({"namespace_s": namespace_done - t0,
                        "first_answer_s": (when - t0) if answered else None})
    return results


def step_timings(marks: dict[str, dict[str, float]], lb_ids: Sequence[str],
                 steps: Sequence[tuple[str, str, str]] = STEPS) -> list[dict[str, Any]]:
    """Per step (label, start mark, end mark) of ``steps``: over the load balancers ``lb_ids``,
    how many it was seen for, p50/p99 of its duration and the p50 of when it ended after the
    POST (ms), for :func:`bench.report.print_steps`."""
    timings = []
    for label, start, end in steps:
        durations, ends = [], []
        for lb_id in lb_ids:
            lb_marks = marks.get(lb_id, {})
            if start in lb_marks and end in lb_marks and "post" in lb_marks:
                durations.append(lb_marks[end] - lb_marks[start])
                ends.append(lb_marks[end] - lb_marks["post"])
        p50, p99 = p50_p99(durations)
        timings.append({"step": label, "n": len(durations), "p50_ms": p50 * 1000,
                        "p99_ms": p99 * 1000, "ends_at_p50_ms": p50_p99(ends)[0] * 1000})
    return timings


def summarize(measured: dict[str, Any]) -> dict[str, Any]:
    def firsts(rows: list[dict[str, Any]]) -> list[float]:
        return [r["first_answer_s"] for r in rows if r["first_answer_s"] is not None]

    hand = firsts(measured["by_hand"])
    hand_p50, hand_p99 = p50_p99(hand)
    rows = []
    for phase, label in (("sequential", "lbaas, one at a time"),
                         ("burst", f"lbaas, {len(measured['burst'])} at once"),
                         ("by_hand", "by hand: ip -batch + haproxy (baseline)")):
        values = firsts(measured[phase])
        p50, p99 = p50_p99(values)
        rows.append({
            "phase": label, "n": len(measured[phase]), "answered": len(values),
            "p50_s": p50, "p99_s": p99, "max_s": max(values) if values else float("nan"),
            "p50_vs_hand": ratio(p50, hand_p50), "p99_vs_hand": ratio(p99, hand_p99),
            "goal_met": (p50 < GOAL_P50_S and p99 < GOAL_P99_S
                         and len(values) == len(measured[phase]))
            if phase == "sequential" else None,
        })
    steps = step_timings(measured["marks"], [r["id"] for r in measured["sequential"]])
    post = [r["post_s"] for r in measured["sequential"]]
    active = [r["active_s"] for r in measured["sequential"]]
    return {"rows": rows, "steps": steps, "burst_wall_s": measured["burst_wall_s"],
            "post_p50_s": p50_p99(post)[0], "active_p50_s": p50_p99(active)[0]}


def print_summary(summary: dict[str, Any]) -> None:
    console = wide_console()
    columns = [Column("phase", "left"), Column("LBs"), Column("answered"),
               Column("p50 s"), Column("p99 s"), Column("max s"), Column("p50 ÷ by hand"),
               Column("p99 ÷ by hand"), Column("goal p50<0.5 s, p99<2 s", "left")]
    cells = [[r["phase"], str(r["n"]), str(r["answered"]), fmt(r["p50_s"], 3),
              fmt(r["p99_s"], 3), fmt(r["max_s"], 3), fmt(r["p50_vs_hand"]),
              fmt(r["p99_vs_hand"]),
              goal(r["goal_met"]) if r["goal_met"] is not None else ""]
             for r in summary["rows"]]
    print_table("Provisioning: POST of a full tree → first 200 through the VIP", columns, cells,
                console=console, caption=(
                    f"burst wall time {summary['burst_wall_s']:.2f} s; sequential: POST p50 "
                    f"{summary['post_p50_s']:.3f} s, ACTIVE seen by the client p50 "
                    f"{summary['active_p50_s']:.3f} s. Ratios against the by-hand baseline "
                    "of the same run; goal is informational."))
    print_steps("Where the time goes (sequential phase, per load balancer)", "POST",
                summary["steps"], console)


def measure(params: Params, deadline: Deadline) -> dict[str, Any]:
    timeline = Timeline()
    with bench_stack() as st:
        st.backend(0, "WEB0")
        st.backend(1, "WEB1")
        client = st.client()
        prober = Prober(client)
        with agent_hooks(st, timeline):
            # One untimed create: imports, caches and first-use costs out of the way.
            warm = create_one(st, prober, timeline)
            st.wait_active(warm["id"])
            seq = sequential(st, prober, timeline, params.count, deadline)
            burst_rows, walls = burst(st, prober, timeline, params.burst) \
                if params.burst and not deadline.expired() else ([], {})
        hand = by_hand(st, prober, params.count, deadline)
        st.check_intact([r["id"] for r in seq + burst_rows])
    return {"sequential": seq, "burst": burst_rows,
            "burst_wall_s": walls.get("answered_s", float("nan")),
            "by_hand": hand, "marks": timeline.marks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provisioning", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few load balancers (smoke)")
    parser.add_argument("--count", type=int, help="load balancers created one at a time")
    parser.add_argument("--burst", type=int, help="load balancers created at once")
    parser.add_argument("--timeout", type=float, default=900,
                        help="overall budget in seconds (default 900)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    params = dataclasses.replace(params, **{k: v for k, v in (
        ("count", args.count), ("burst", args.burst)) if v is not None})
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        measured = measure(params, Deadline(args.timeout))
    summary = summarize(measured)
    print_summary(summary)
    finish(started, args.json, params, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
