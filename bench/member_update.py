"""Member update: from the API call that adds (or removes) a pool member to traffic reaching
(or no longer reaching) it, against a hand-written haproxy changed by hand (edit the config,
``haproxy -c``, graceful reload with SIGUSR2) measured in the same run.

    uv run python -m bench.member_update [--quick] [--count N] [--json FILE]

Setup (see :mod:`bench.lab`): nginx backends WEB0 and WEB1, a load balancer (HTTP listener,
round-robin pool with WEB0 as its only member, HTTP health monitor every second) and a
hand-written haproxy in its own namespace over WEB0. Then ``--count`` times (default 20):

* add: ``POST /v2/lbaas/pools/{id}/members`` for WEB1, timed until the first answer from WEB1
  through the VIP (the prober, a separate process in the client namespace, tries every 5 ms);
* remove: ``DELETE`` that member, timed until answers stop coming from it (the first of 8 answers
  in a row from WEB0);

waiting for ACTIVE after each. The baseline does the same changes on the hand-written haproxy.
Goal (informational): adding a member takes effect in under 0.05 s (p50), and sooner than by
hand (p50 ratio < 1): the agent changes members through haproxy's runtime API, no reload.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from bench.common import Column, fmt, print_table, sigterm_exits
from bench.lab import backend_ip, backend_members, backend_servers, hand_ip
from bench.prober import Prober
from bench.report import goal, p50_p99, print_steps, ratio, wide_console
from bench.run import Deadline, finish
from bench.servers import HandHaproxy, hand_config
from bench.stack import BenchStack, bench_stack, full_tree
from bench.timeline import Timeline, agent_hooks, spans

GOAL_P50_S = 0.05

STEPS = (
    ("API call (POST/DELETE member)", "post", "posted"),
    ("call sent → cast reaches the agent (in-process transport)", "post", "scheduled"),
    ("agent's queue → refresh starts", "scheduled", "refresh"),
    ("fetch tree (RPC get_loadbalancer)", "fetch", "fetched"),
    ("  · server side: database → tree", "srv_fetch", "srv_fetched"),
    ("render haproxy.cfg", "render", "rendered"),
    ("plug VIP (already plugged: checks only)", "plug", "plugged"),
    ("runtime API (read servers, add/set/del server, install cfg)", "runtime", "runtime_done"),
    ("haproxy -c (not on the runtime path)", "validate", "validated"),
    ("reload (not on the runtime path)", "reload", "reloaded"),
    ("report ACTIVE (RPC update_status)", "report", "reported"),
    ("  · server side: database update", "srv_report", "srv_reported"),
    ("traffic changed (prober)", "post", "answered"),
)


@dataclasses.dataclass(frozen=True)
class Params:
    count: int


FULL = Params(count=20)
QUICK = Params(count=3)


def lbaas_changes(st: BenchStack, prober: Prober, count: int, deadline: Deadline
                  ) -> dict[str, Any]:
    timeline = Timeline()
    lb = st.post_lb(full_tree(backend_members(1)))
    st.wait_active(lb["id"])
    lb_id, vip, pool_id = lb["id"], lb["vip_address"], lb["pools"][0]["id"]
    if not prober.start(vip, "body", "WEB0", timeout=30).result(40)[0]:
        raise RuntimeError("the load balancer never answered")
    adds: list[float | None] = []
    removes: list[float | None] = []
    breakdown: list[dict[str, float]] = []
    member_body = {"member": {"address": backend_ip(1), "protocol_port": 80}}
    with agent_hooks(st, timeline):
        for _ in range(count):
            if deadline.expired():
                break
            for action in ("add", "remove"):
                timeline.reset()
                t0 = time.monotonic()
                if action == "add":
                    r = st.api.member.post(f"/pools/{pool_id}/members", member_body)
                    if r.status_code != 201:
                        raise RuntimeError(f"add member: {r.status_code} {r.text}")
                    member_id = r.json()["member"]["id"]
                    fut = prober.start(vip, "body", "WEB1", timeout=30)
                else:
                    r = st.api.member.delete(f"/pools/{pool_id}/members/{member_id}")
                    if r.status_code != 204:
                        raise RuntimeError(f"remove member: {r.status_code} {r.text}")
                    fut = prober.start(vip, "notbody", "WEB1", timeout=30)
                posted = time.monotonic()
                answered, when, _ = fut.result(40)
                (adds if action == "add" else removes).append(when - t0 if answered else None)
                st.wait_active(lb_id)
                timeline.mark(lb_id, "post", t0)
                timeline.mark(lb_id, "posted", posted)
                if answered:
                    timeline.mark(lb_id, "answered", when)
                if action == "add":
                    breakdown.append(dict(timeline.marks.get(lb_id, {})))
    st.check_intact([lb_id])
    return {"add": adds, "remove": removes, "breakdown": breakdown}


def hand_changes(st: BenchStack, prober: Prober, count: int, deadline: Deadline
                 ) -> dict[str, Any]:
    host = st.host("hp", hand_ip(0))
    hand = HandHaproxy(host, st.workdir)
    one, two = backend_servers(1), backend_servers(2)
    bind = f"{hand_ip(0)}:80"
    hand.write(hand_config(bind, one))
    hand.start()
    adds: list[float | None] = []
    removes: list[float | None] = []
    for _ in range(count):
        if deadline.expired():
            break
        for action, servers, mode in (("add", two, "body"), ("remove", one, "notbody")):
            t0 = time.monotonic()
            hand.write(hand_config(bind, servers))
            hand.check()
            hand.reload()
            answered, when, _ = prober.start(hand_ip(0), mode, "WEB1", timeout=30).result(40)
            (adds if action == "add" else removes).append(when - t0 if answered else None)
            time.sleep(0.2)  # let the old worker go (as the lbaas loop waits for ACTIVE)
    return {"add": adds, "remove": removes}


def _pcts(values: list[float | None]) -> tuple[float, float, int]:
    """p50, p99 and count of the changes that took effect (None: they did not)."""
    done = [v for v in values if v is not None]
    return (*p50_p99(done), len(done))


def summarize(lbaas: dict[str, Any], hand: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for action in ("add", "remove"):
        hand_p50, hand_p99, _ = _pcts(hand[action])
        for who, data in (("lbaas (API → agent → runtime API)", lbaas),
                          ("by hand (edit, haproxy -c, SIGUSR2)", hand)):
            p50, p99, done = _pcts(data[action])
            rows.append({"action": action, "who": who, "n": len(data[action]), "done": done,
                         "p50_s": p50, "p99_s": p99, "p50_vs_hand": ratio(p50, hand_p50),
                         "p99_vs_hand": ratio(p99, hand_p99),
                         "goal_met": (p50 < GOAL_P50_S and p50 < hand_p50
                                      and done == len(data[action]))
                         if action == "add" and data is lbaas else None})
    steps = []
    for label, start, end in STEPS:
        durations = spans(lbaas["breakdown"], start, end)
        ends = spans(lbaas["breakdown"], "post", end)
        p50, p99, n = _pcts(list(durations))
        steps.append({"step": label, "n": n, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000,
                      "ends_at_p50_ms": _pcts(list(ends))[0] * 1000})
    return {"rows": rows, "steps": steps}


def print_summary(summary: dict[str, Any]) -> None:
    console = wide_console()
    columns = [Column("change", "left"), Column("who", "left"), Column("n"),
               Column("took effect"), Column("p50 s"), Column("p99 s"),
               Column("p50 ÷ by hand"), Column("p99 ÷ by hand"),
               Column("goal add p50<0.05 s, < by hand", "left")]
    cells = [[r["action"] + " member", r["who"], str(r["n"]), str(r["done"]), fmt(r["p50_s"], 3),
              fmt(r["p99_s"], 3), fmt(r["p50_vs_hand"]), fmt(r["p99_vs_hand"]),
              goal(r["goal_met"]) if r["goal_met"] is not None else ""]
             for r in summary["rows"]]
    print_table("Member update: API call → traffic reaches (or leaves) the member", columns,
                cells, console=console,
                caption="Ratios against the by-hand baseline of the same run; goal is "
                        "informational.")
    print_steps("Where the time goes (adding a member, lbaas)", "the call", summary["steps"],
                console)


def measure(params: Params, deadline: Deadline) -> tuple[dict[str, Any], dict[str, Any]]:
    with bench_stack() as st:
        st.backend(0, "WEB0")
        st.backend(1, "WEB1")
        prober = Prober(st.client())
        lbaas = lbaas_changes(st, prober, params.count, deadline)
        hand = hand_changes(st, prober, params.count, deadline)
    return lbaas, hand


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.member_update", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few changes (smoke test)")
    parser.add_argument("--count", type=int, help="add/remove cycles")
    parser.add_argument("--timeout", type=float, default=600,
                        help="overall budget in seconds (default 600)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    if args.count is not None:
        params = Params(count=args.count)
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        lbaas, hand = measure(params, Deadline(args.timeout))
    summary = summarize(lbaas, hand)
    print_summary(summary)
    finish(started, args.json, params, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
