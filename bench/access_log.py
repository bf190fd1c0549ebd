"""Access logs: requests/s through one load balancer with its access log on vs off, same run.

    uv run python -m bench.access_log [--quick] [--duration S] [--repeats N] [--json FILE]

Setup (see :mod:`bench.lab`): two nginx backends, a client namespace running wrk, and one load
balancer with two HTTP listeners, each with a pool over both backends: port 80 logged (the
default), port 81 with ``lbaas:access_log`` false. Each repeat measures both listeners back to
back with identical wrk parameters, the order alternating between repeats (paired and
interleaved: the machine's noise hits both alike); the table shows the median of each side and
the median of the per-pair ratios, keep-alive and a new connection per request. It also counts
the JSON lines the agent wrote against the requests wrk made to the logged listener (haproxy
drops lines rather than wait when the agent falls behind), and the CPU the agent's log thread
spent per line. Goal (informational): logged ÷ unlogged req/s >= 0.95.

``--sink socat`` stops the agent's receiver once the load balancer answers and puts ``socat``
(C, reading and discarding) on the access socket instead: what haproxy's own logging costs, without
the agent's Python (see bench/README.md for the breakdown).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import Column, fmt, print_table, sigterm_exits
from bench.lab import backend_members
from bench.prober import Prober
from bench.report import goal, median, ratio, wide_console
from bench.run import Deadline, finish
from bench.stack import BenchStack, bench_stack, full_tree
from bench.wrk import WrkResult, run_wrk
from lbaas.drivers.haproxy import logs

GOAL_RATIO = 0.95
SIDES = ("logs on", "logs off")
VARIANTS = ("keep-alive", "new conn/request")
PORTS = {SIDES[0]: 80, SIDES[1]: 81}
THREAD = "lbaas-access-log"  # the receiver's thread (lbaas.agent.access_logs.receiver)
SOCAT_ADDRESS = "UNIX-LISTEN"  # socat on the access socket (one stream per haproxy)


@dataclasses.dataclass(frozen=True)
class Params:
    duration: float
    repeats: int
    threads: int
    connections: int


FULL = Params(duration=8, repeats=5, threads=2, connections=50)
QUICK = Params(duration=1, repeats=1, threads=2, connections=32)
WARM_UP_CONNECTIONS = 4


def tree() -> dict[str, Any]:
    """A logged listener (80) and an unlogged one (81), each with its own pool over the same
    backends (a pool is the default of one listener only)."""
    body = full_tree(backend_members(2), name="logs")
    unlogged = full_tree(backend_members(2), name="quiet",
                         port=PORTS[SIDES[1]])["listeners"][0]
    body["listeners"].append({**unlogged, "lbaas:access_log": False})
    return body


def lines_handled(st: BenchStack) -> int:
    """Access lines the agent has written so far (its receiver's count: files rotate)."""
    service = st.agent.access_logs
    if service is None:
        raise RuntimeError("the bench agent runs no access log receiver")
    return service.counters.access_lines


def settled_count(st: BenchStack, quiet: float = 1.5, timeout: float = 20.0) -> int:
    """:func:`lines_handled` once it has not moved for ``quiet`` seconds (the agent has
    caught up with what haproxy sent), or after ``timeout``.

    Sampled every 0.25 s: one unchanged sample is not enough on a busy machine, where the
    in-process agent can stall for half a second while haproxy's ring still holds lines."""
    deadline = time.monotonic() + timeout
    count = lines_handled(st)
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = lines_handled(st)
        if now != count:
            count, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            break
    return count


def thread_cpu(name: str) -> float:
    """CPU seconds (user + system) the live threads of this process called ``name`` have used."""
    total = 0
    for thread in threading.enumerate():
        if thread.name == name and thread.native_id is not None:
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def c_sink(st: BenchStack) -> Iterator[None]:
    """Replace the agent's log receiver by socat reading the same socket into /dev/null."""
    service = st.agent.access_logs
    assert service is not None
    service.stop()
    path = logs.access_socket_path(st.conf.state_path)
    sink = subprocess.Popen(["socat", "-u", f"{SOCAT_ADDRESS}:{path},fork,mode=600", "/dev/null"])
    try:
        yield
    finally:
        sink.terminate()
        sink.wait(10)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def measure(params: Params, deadline: Deadline, sink: str) -> dict[str, Any]:
    runs: dict[tuple[str, str], list[WrkResult]] = {}
    with bench_stack() as st, contextlib.ExitStack() as cleanup:
        st.backend(0, "WEB0")
        st.backend(1, "WEB1")
        client = st.client()
        lb = st.post_lb(tree())
        st.wait_active(lb["id"])
        vip = lb["vip_address"]
        for body in ("WEB0", "WEB1"):
            answered, _, _ = Prober(client).start(vip, "body", body, timeout=30).result(40)
            if not answered:
                raise RuntimeError(f"the load balancer never answered from {body}")
        if sink == "socat":
            cleanup.enter_context(c_sink(st))
        urls = {side: f"http://{vip}:{port}/" for side, port in PORTS.items()}
        for url in urls.values():  # warm-up: connections, caches, ARP
            run_wrk(client, url, threads=1, connections=WARM_UP_CONNECTIONS, duration=1)
        lines_before = settled_count(st)  # the warm-up's lines are not the runs'
        cpu_before = thread_cpu(THREAD)
        logged_requests = 0
        for variant in VARIANTS:
            for rep in range(params.repeats):
                if deadline.expired():
                    break
                for side in (SIDES if rep % 2 == 0 else SIDES[::-1]):
                    result = run_wrk(client, urls[side], threads=params.threads,
                                     connections=params.connections, duration=params.duration,
                                     close=variant != VARIANTS[0])
                    runs.setdefault((variant, side), []).append(result)
                    if side == SIDES[0]:
                        logged_requests += result.requests
                st.check_intact([lb["id"]])
        written = settled_count(st) - lines_before  # the agent's last lines too
        cpu = thread_cpu(THREAD) - cpu_before
        dropped = st.agent.access_logs.counters.dropped if sink == "agent" else None
    return {"runs": runs, "lines": written, "logged_requests": logged_requests,
            "dropped": dropped,
            "agent_us_per_line": ratio(cpu * 1e6, written) if written else None}


def summarize(runs: dict[tuple[str, str], list[WrkResult]]) -> list[dict[str, Any]]:
    rows = []
    for variant in VARIANTS:
        on = runs.get((variant, SIDES[0]), [])
        off = runs.get((variant, SIDES[1]), [])
        if not on or not off:
            continue
        pairs = [ratio(a.rps, b.rps) for a, b in zip(on, off, strict=False)]
        paired = median(pairs)
        rows.append({
            "variant": variant, "runs": len(pairs),
            "rps_on": median([r.rps for r in on]), "rps_off": median([r.rps for r in off]),
            "p99_on_ms": median([r.p99_ms for r in on]),
            "p99_off_ms": median([r.p99_ms for r in off]),
            "errors": sum(r.errors for r in on + off),
            "ratio": paired, "ratios": [round(value, 3) for value in pairs],
            "goal_met": paired >= GOAL_RATIO,
        })
    return rows


def print_rows(rows: list[dict[str, Any]], params: Params, measured: dict[str, Any],
               sink: str) -> None:
    lines, requests = measured["lines"], measured["logged_requests"]
    cost = measured["agent_us_per_line"]
    columns = [Column("variant", "left"), Column("pairs"), Column("req/s logs on"),
               Column("req/s logs off"), Column("p99 ms on"), Column("p99 ms off"),
               Column("errors"), Column("on ÷ off (median of pairs)"),
               Column("goal ≥ 0.95", "left")]
    cells = [[r["variant"], str(r["runs"]), fmt(r["rps_on"]), fmt(r["rps_off"]),
              fmt(r["p99_on_ms"]), fmt(r["p99_off_ms"]), str(r["errors"]), fmt(r["ratio"]),
              goal(r["goal_met"])] for r in rows]
    print_table(
        "Access logs: one load balancer, logged listener vs unlogged listener", columns, cells,
        console=wide_console(),
        caption=(f"wrk -t{params.threads} -c{params.connections} -d{params.duration:g}s, "
                 f"{params.repeats} pair(s) per variant, order alternating. JSON lines written: "
                 f"{lines} for {requests} logged requests "
                 f"({fmt(ratio(lines, requests))} of them)"
                 + (f", {measured['dropped']} dropped by haproxy's ring (its count)"
                    if measured["dropped"] is not None else "")
                 + (f", agent CPU {fmt(cost)} µs per line" if cost is not None else "")
                 + (". Logs go to socat (C), not the agent" if sink == "socat" else "")
                 + ". Goal is informational."))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.access_log", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 s runs, once (smoke test)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, help="pairs per variant")
    parser.add_argument("--connections", type=int, help="wrk connections")
    parser.add_argument("--threads", type=int, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=1200,
                        help="overall budget in seconds (default 1200)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--sink", choices=("agent", "socat"), default="agent",
                        help="who reads haproxy's logs: the agent (default) or socat into "
                             "/dev/null (haproxy's own cost)")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    params = dataclasses.replace(
        params, **{k: v for k, v in (("duration", args.duration), ("repeats", args.repeats),
                                     ("connections", args.connections),
                                     ("threads", args.threads)) if v is not None})
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        measured = measure(params, Deadline(args.timeout), args.sink)
    rows = summarize(measured["runs"])
    print_rows(rows, params, measured, args.sink)
    finish(started, args.json, params, {"rows": rows, "lines_written": measured["lines"],
                                        "logged_requests": measured["logged_requests"],
                                        "agent_us_per_line": measured["agent_us_per_line"],
                                        "dropped_by_haproxy": measured["dropped"],
                                        "sink": args.sink})
    return 0


if __name__ == "__main__":
    sys.exit(main())
