"""Member changes under load: failed requests and haproxy reloads while 100 member changes are
applied to a load balancer that serves traffic, keep-alive clients included, against weight
changes applied to a hand-written haproxy by a naive stop/start and by a graceful reload
(SIGUSR2), measured in the same run.

    uv run python -m bench.reload [--quick] [--changes N] [--json FILE]

Setup (see :mod:`bench.lab`): nginx backends WEB0 and WEB1, a load balancer (HTTP listener,
round-robin pool over both, HTTP health monitor every second), and a hand-written haproxy in
its own namespace over the same backends. Traffic during each phase: two wrk processes in the
client namespace, one keep-alive (``-t1 -c8``) and one opening a new connection per request
(``-H 'Connection: close'``, ``-t1 -c8``), both ``nice -n 10`` so that the agent and haproxy
get the CPU first (wrk would otherwise starve them on 2 cores).

Changes: a cycle through the API on the first member (WEB0), each waited for until ACTIVE:
weight 1 → 2, weight 2 → 1, admin_state_up false, admin_state_up true, ``DELETE``, and
``POST`` it back (a new member). The reloads they caused are counted from the master's ``show
proc``: member changes go through haproxy's runtime API, so the goal is none. The baselines
toggle a weight in their config (each change a reload or a restart) and are paced to the same
mean interval as the lbaas changes.

Failed requests = wrk's socket errors (connect, read, write, timeout) + non-2xx answers.
Goal (informational): 0 failed and 0 reloads for the load balancer.
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
from bench.lab import backend_members, backend_servers, hand_ip
from bench.prober import Prober
from bench.report import goal, ratio, wide_console
from bench.run import Deadline, finish
from bench.servers import HandHaproxy, hand_config
from bench.stack import BenchStack, bench_stack, full_tree
from bench.wrk import BackgroundWrk, WrkResult
from tests.netlab import Host

WRK_CONNECTIONS = 8
WRK_NICE = 10


@dataclasses.dataclass(frozen=True)
class Params:
    changes: int


FULL = Params(changes=100)
QUICK = Params(changes=6)  # the whole member cycle


@dataclasses.dataclass
class Phase:
    name: str
    changes: int = 0
    reloads: int | None = None
    seconds: float = 0.0
    keepalive: WrkResult | None = None
    close: WrkResult | None = None

    def errors(self) -> int:
        return sum(r.errors for r in (self.keepalive, self.close) if r is not None)

    def requests(self) -> int:
        return sum(r.requests for r in (self.keepalive, self.close) if r is not None)


def _traffic(client: Host, url: str) -> tuple[BackgroundWrk, BackgroundWrk]:
    keepalive = BackgroundWrk(client, url, connections=WRK_CONNECTIONS, nice=WRK_NICE)
    close = BackgroundWrk(client, url, connections=WRK_CONNECTIONS, close=True, nice=WRK_NICE)
    time.sleep(1.0)  # both running and connected before the first change
    return keepalive, close


def _stop(phase: Phase, traffic: tuple[BackgroundWrk, BackgroundWrk]) -> None:
    time.sleep(1.0)  # the last change's old worker finishes its connections
    phase.keepalive, phase.close = traffic[0].stop(), traffic[1].stop()


def lbaas_phase(st: BenchStack, client: Host, prober: Prober, changes: int,
                deadline: Deadline) -> Phase:
    lb = st.post_lb(full_tree(backend_members(2)))
    st.wait_active(lb["id"])
    vip, pool = lb["vip_address"], lb["pools"][0]
    member_id = pool["members"][0]["id"]
    for body in ("WEB0", "WEB1"):
        if not prober.start(vip, "body", body, timeout=30).result(40)[0]:
            raise RuntimeError(f"the load balancer never answered from {body}")
    proc = st.process(lb["id"])
    before = proc.proc_info()
    phase = Phase("lbaas: API member change → agent → runtime API")
    traffic = _traffic(client, f"http://{vip}/")
    started = time.monotonic()
    members = f"/pools/{pool['id']}/members"
    shown = st.api.member.get(f"{members}/{member_id}").json()["member"]
    first = {key: shown[key] for key in ("address", "protocol_port")}
    try:
        for i in range(changes):
            if deadline.expired():
                break
            member_id = _member_change(st, members, member_id, first, i % len(MEMBER_CYCLE))
            st.wait_active(lb["id"])
            phase.changes += 1
        phase.seconds = time.monotonic() - started
    finally:
        _stop(phase, traffic)
    after = proc.proc_info()
    if before is not None and after is not None:
        phase.reloads = after.reloads - before.reloads
    st.check_intact([lb["id"]])
    return phase


MEMBER_CYCLE = ("weight 2", "weight 1", "disable", "enable", "delete", "add")
"""The lbaas phase's changes, in turn, on the first member."""


def _member_change(st: BenchStack, members: str, member_id: str, first: dict[str, Any],
                   step: int) -> str:
    """Make change ``step`` of :data:`MEMBER_CYCLE`; returns the first member's (new) id."""
    change = MEMBER_CYCLE[step]
    if change == "delete":
        r = st.api.member.delete(f"{members}/{member_id}")
        expected = 204
    elif change == "add":
        r = st.api.member.post(members, {"member": first})
        expected = 201
    else:
        values = ({"weight": int(change.split()[1])} if change.startswith("weight")
                  else {"admin_state_up": change == "enable"})
        r = st.api.member.put(f"{members}/{member_id}", {"member": values})
        expected = 200
    if r.status_code != expected:
        raise RuntimeError(f"member {change}: {r.status_code} {r.text}")
    return str(r.json()["member"]["id"]) if change == "add" else member_id


def hand_phase(st: BenchStack, client: Host, changes: int, interval: float, graceful: bool,
               deadline: Deadline) -> Phase:
    index = 1 if graceful else 0
    host = st.hosts.get(f"h{index}") or st.host(f"h{index}", hand_ip(index))
    hand = HandHaproxy(host, st.workdir, "graceful" if graceful else "naive")
    bind = f"{hand_ip(index)}:80"
    servers = backend_servers(2)
    hand.write(hand_config(bind, servers, weight=1))
    hand.start()
    phase = Phase("by hand: graceful reload (SIGUSR2)" if graceful
                  else "by hand: naive stop/start (baseline)")
    traffic = _traffic(client, f"http://{hand_ip(index)}/")
    started = time.monotonic()
    try:
        for i in range(changes):
            if deadline.expired():
                break
            cycle = time.monotonic()
            hand.write(hand_config(bind, servers, weight=2 if i % 2 == 0 else 1))
            if graceful:
                hand.check()
                hand.reload()
            else:
                hand.restart()
            phase.changes += 1
            time.sleep(max(0.0, interval - (time.monotonic() - cycle)))
        phase.seconds = time.monotonic() - started
    finally:
        _stop(phase, traffic)
        hand.stop()
    phase.reloads = phase.changes
    return phase


def measure(params: Params, deadline: Deadline) -> list[Phase]:
    with bench_stack() as st:
        st.backend(0, "WEB0")
        st.backend(1, "WEB1")
        client = st.client()
        prober = Prober(client)
        lbaas = lbaas_phase(st, client, prober, params.changes, deadline)
        interval = lbaas.seconds / max(1, lbaas.changes)
        naive = hand_phase(st, client, params.changes, interval, False, deadline)
        graceful = hand_phase(st, client, params.changes, interval, True, deadline)
    return [lbaas, naive, graceful]


def summarize(phases: list[Phase]) -> list[dict[str, Any]]:
    naive = phases[1]
    rows = []
    for phase in phases:
        per_change = phase.errors() / phase.changes if phase.changes else float("nan")
        rows.append({
            "phase": phase.name, "changes": phase.changes, "reloads": phase.reloads,
            "seconds": phase.seconds, "requests": phase.requests(), "failed": phase.errors(),
            "failed_keepalive": phase.keepalive.errors if phase.keepalive else None,
            "failed_close": phase.close.errors if phase.close else None,
            "detail": {name: {"connect": r.connect_errors, "read": r.read_errors,
                              "write": r.write_errors, "timeout": r.timeouts,
                              "non_2xx": r.non_2xx, "requests": r.requests, "rps": r.rps}
                       for name, r in (("keepalive", phase.keepalive), ("close", phase.close))
                       if r is not None},
            "failed_per_change": per_change,
            "vs_naive": ratio(phase.errors(), naive.errors()) if naive.errors() else None,
            "goal_met": phase.errors() == 0 and phase.reloads == 0
            if phase is phases[0] else None,
        })
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    columns = [Column("phase", "left"), Column("changes"), Column("reloads"), Column("s"),
               Column("requests"), Column("failed"), Column("… keep-alive"),
               Column("… new conn."), Column("failed/change"), Column("failed ÷ naive"),
               Column("goal 0 failed, 0 reloads", "left")]
    cells = [[r["phase"], str(r["changes"]), str(r["reloads"]), fmt(r["seconds"]),
              f"{r['requests']:,}", str(r["failed"]), str(r["failed_keepalive"]),
              str(r["failed_close"]), fmt(r["failed_per_change"]),
              fmt(r["vs_naive"]) if r["vs_naive"] is not None else "—",
              goal(r["goal_met"]) if r["goal_met"] is not None else ""] for r in rows]
    print_table("Member changes under load: failed requests and reloads", columns, cells,
                console=wide_console(),
                caption=(f"Traffic: wrk -t1 -c{WRK_CONNECTIONS} keep-alive + wrk -t1 "
                         f"-c{WRK_CONNECTIONS} -H 'Connection: close', nice {WRK_NICE}. "
                         "Baselines paced to the lbaas phase's mean change interval. Failed = "
                         "socket errors + non-2xx. Goal is informational."))
    for row in rows:
        parts = [f"{name}: " + ", ".join(f"{k} {v:,.0f}" for k, v in detail.items())
                 for name, detail in row["detail"].items()]
        print(f"  {row['phase']}: " + "; ".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reload", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few changes (smoke test)")
    parser.add_argument("--changes", type=int, help="configuration changes per phase")
    parser.add_argument("--timeout", type=float, default=900,
                        help="overall budget in seconds (default 900)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    if args.changes is not None:
        params = Params(changes=args.changes)
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        phases = measure(params, Deadline(args.timeout))
    rows = summarize(phases)
    print_rows(rows)
    finish(started, args.json, params, {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
