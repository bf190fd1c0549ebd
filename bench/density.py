"""Density: how many load balancers one agent holds (a namespace + haproxy each), the memory of an
idle one, the agent's idle CPU, and the time a restarted agent takes to verify all of them.

    uv run python -m bench.density [--quick] [--count N] [--timeout S] [--json FILE]

Setup (see :mod:`bench.lab`): one nginx backend; ``--count`` load balancers (default 1,000;
``--quick`` 20), each an HTTP listener and a round-robin pool with that backend as its only
member and no health monitor (idle: no check traffic), created through the API by 4 client
threads. Then:

* every VIP is asked for one answer (from the client namespace);
* memory per load balancer: RSS, PSS and USS (private clean + dirty) of its haproxy master and
  worker from ``/proc/<pid>/smaps_rollup``, and the host's growth of used memory and of kernel
  memory (Slab + PageTables + KernelStack, from ``/proc/meminfo``) per load balancer;
* CPU over 10 idle seconds: this process (API + agent: heartbeats, stats passes at most every
  second, 5 ms apart per load balancer) and all haproxies;
* resync: the agent is stopped (haproxies keep serving) and a fresh ``AgentService`` over the same
  state is started; the time from ``start()`` until it has run ``deploy`` for every load
  balancer (each must answer "unchanged"), with the time of its steps per load balancer (the
  sync fetches trees in chunks, then each refresh checks the VIP read-only and compares the
  config).

Baselines of the same run: a hand-written minimal haproxy (same ``maxconn``, master-worker) for
memory, and for the resync a bare loop that checks each namespace exists and asks each master
``show proc``.

Goals (informational): all ``--count`` load balancers held and answering, resync under 30 s.

Host limits: a Linux bridge takes at most 1,023 ports, so one bridge carries about 1,020 load
balancers here (plus the backend and the client). A broadcast the bridge floods (ARP) is queued
once per port on one CPU's input backlog: with about 1,000 ports and the default
``net.core.netdev_max_backlog`` of 1,000, the copies for the oldest ports (the backend, the
client) are dropped, ARP for the backend never resolves and no load balancer answers (measured:
0 of 1,000). The product does not raise it; this benchmark raises it (host-wide) to
4 * (count + 8) for the run and puts the old value back at the end (``--no-raise-backlog``
leaves it alone, to see the collapse). ``--timeout`` bounds the creation phase; the
teardown (registered before anything is created) always runs, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import Column, fmt, percentile, print_table, process_cpu_seconds, sigterm_exits
from bench.lab import (
    backend_members,
    backend_servers,
    hand_ip,
    netdev_backlog_at_least,
    softnet_drops,
)
from bench.prober import Prober
from bench.procstat import Memory, meminfo, total_memory
from bench.report import goal, median, ratio, wide_console
from bench.run import Deadline, finish
from bench.servers import HandHaproxy, hand_config
from bench.stack import BenchStack, bench_stack, full_tree
from bench.timeline import Timeline, agent_hooks, patched, spans
from lbaas.drivers.interface import netns
from lbaas.drivers.interface.namespaces import namespace_path

GOAL_COUNT = 1000
GOAL_RESYNC_S = 30.0
MAX_PER_BRIDGE = 1020
IDLE_WINDOW_S = 10.0
CREATE_THREADS = 4


@dataclasses.dataclass(frozen=True)
class Params:
    count: int
    timeout: float
    raise_backlog: bool = True


FULL = Params(count=1000, timeout=3600)
QUICK = Params(count=20, timeout=300)


def _log(message: str) -> None:
    print(f"[density {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _lb_memory(st: BenchStack, lb_id: str) -> tuple[Memory, list[int]] | None:
    pids = st.lb_pids(lb_id)
    if not pids:
        return None
    try:
        return total_memory(pids), pids
    except OSError:
        return None


def _kernel_kb(info: dict[str, int]) -> int:
    return info.get("Slab", 0) + info.get("PageTables", 0) + info.get("KernelStack", 0)


def create_all(st: BenchStack, count: int, deadline: Deadline) -> dict[str, Any]:
    """POST ``count`` load balancers from 4 threads; wait until the agent deployed them all."""
    tree = full_tree(backend_members(1), name="dense", healthmonitor=False)
    posted: dict[str, float] = {}
    vips: dict[str, str] = {}
    errors: list[str] = []

    def post(_: int) -> None:
        if deadline.expired():
            return
        t0 = time.monotonic()
        try:
            lb = st.post_lb(tree)
        except Exception as exc:
            errors.append(str(exc))
            return
        posted[lb["id"]] = t0
        vips[lb["id"]] = lb["vip_address"]

    started = time.monotonic()
    last_log = started
    pool = ThreadPoolExecutor(max_workers=CREATE_THREADS, thread_name_prefix="bench-post")
    try:
        futures = [pool.submit(post, i) for i in range(count)]
        while not all(f.done() for f in futures):
            time.sleep(0.5)
            if time.monotonic() - last_log > 15:
                last_log = time.monotonic()
                _log(f"posted {len(posted)}/{count}, deployed {len(st.driver.records())}")
    finally:  # on Ctrl-C: drop the queued creates, do not wait for them
        pool.shutdown(wait=True, cancel_futures=True)
    posted_wall = time.monotonic() - started
    while not deadline.expired():
        deployed = st.driver.records()
        if all(lb_id in deployed for lb_id in posted):
            break
        if time.monotonic() - last_log > 15:
            last_log = time.monotonic()
            _log(f"deployed {len(deployed)}/{len(posted)}")
        time.sleep(0.5)
    deployed = st.driver.records()
    wall = time.monotonic() - started
    latencies = [deployed[lb_id][0][0] - t0 for lb_id, t0 in posted.items() if lb_id in deployed]
    statuses: dict[str, int] = {}
    for lb in st.api.admin.get("/loadbalancers", params={"limit": 1000000}).json()[
            "loadbalancers"]:
        statuses[lb["provisioning_status"]] = statuses.get(lb["provisioning_status"], 0) + 1
    return {"posted": len(posted), "deployed": sum(1 for i in posted if i in deployed),
            "post_errors": errors[:5], "post_error_count": len(errors),
            "posted_wall_s": posted_wall, "wall_s": wall, "latencies": latencies,
            "statuses": statuses, "vips": vips, "timed_out": deadline.expired()}


def check_answers(prober: Prober, vips: list[str], batch: int = 100) -> int:
    answered = 0
    for start in range(0, len(vips), batch):
        futures = [prober.start(vip, "ok", timeout=10, interval=0.05)
                   for vip in vips[start:start + batch]]
        answered += sum(1 for f in futures if f.result(30)[0])
    return answered


def idle_cpu(st: BenchStack, lb_ids: list[str]) -> dict[str, float]:
    pids = [pid for lb_id in lb_ids for pid in st.lb_pids(lb_id)]
    me = os.getpid()
    before_self = process_cpu_seconds(me)
    before_hap = sum(process_cpu_seconds(pid) for pid in pids)
    time.sleep(IDLE_WINDOW_S)
    return {"self_pct": (process_cpu_seconds(me) - before_self) / IDLE_WINDOW_S * 100,
            "haproxy_pct": (sum(process_cpu_seconds(pid) for pid in pids) - before_hap)
            / IDLE_WINDOW_S * 100}


RESYNC_STEPS = (
    ("queued → refresh starts", "queued", "refresh"),
    ("fetch trees in chunks (RPC get_loadbalancers)", "batch", "batched"),
    ("fetch one tree (RPC get_loadbalancer)", "fetch", "fetched"),
    ("plug VIP (read-only check; full plug if changed)", "plug", "plugged"),
    ("  · gratuitous ARP", "garp", "garp_done"),
    ("apply (show proc, compare config)", "apply", "applied"),
    ("whole refresh", "refresh", "refreshed"),
)


def resync(st: BenchStack, lb_ids: set[str], timeout: float) -> dict[str, Any]:
    """A fresh agent over the existing state: time until it deployed (verified) every LB.

    Also times the fresh agent's steps per load balancer and its stats passes."""
    agent = st.new_agent()
    timeline = Timeline()
    passes: list[float] = []

    def timed_stats(original: Any) -> Any:
        def wrapper() -> None:
            t0 = time.monotonic()
            try:
                original()
            finally:
                passes.append(time.monotonic() - t0)
        return wrapper

    with agent_hooks(st, timeline), patched(agent.manager, "collect_stats", timed_stats):
        started = time.monotonic()
        for lb_id in lb_ids:
            timeline.mark(lb_id, "queued", started)
        agent.start()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if lb_ids <= set(st.driver.records()):
                break
            time.sleep(0.05)
        records = st.driver.records()
        # Stats passes of a settled agent (the first ones overlap the resync).
        settle = time.monotonic() + 60
        first = len(passes)
        while len(passes) < first + 3 and time.monotonic() < settle:
            time.sleep(0.2)
        settled_passes = passes[first:]
    done = [records[lb_id][0] for lb_id in lb_ids if lb_id in records]
    actions: dict[str, int] = {}
    for _, action in done:
        actions[action] = actions.get(action, 0) + 1
    last = max((when for when, _ in done), default=float("nan"))
    steps = []
    for label, start, end in RESYNC_STEPS:
        durations = spans([timeline.marks.get(lb_id, {}) for lb_id in lb_ids], start, end)
        steps.append({"step": label, "n": len(durations),
                      "p50_ms": percentile(durations, 50) * 1000 if durations else float("nan"),
                      "sum_s": sum(durations)})
    return {"verified": len(done), "seconds": last - started, "actions": actions,
            "complete": len(done) == len(lb_ids), "steps": steps,
            "stats_pass_s": median(settled_passes), "workers": st.conf.agent.workers}


def raw_verify(st: BenchStack, lb_ids: list[str]) -> float:
    """The bare minimum a verification needs: the namespace exists and the master answers."""
    started = time.monotonic()
    for lb_id in lb_ids:
        os.stat(namespace_path(netns.namespace_name(lb_id)))
        st.process(lb_id).proc_info()
    return time.monotonic() - started


def measure(params: Params) -> dict[str, Any]:
    if params.count > MAX_PER_BRIDGE:
        raise SystemExit(f"--count {params.count}: one Linux bridge takes at most 1,023 ports "
                         f"(use at most {MAX_PER_BRIDGE})")
    wanted_backlog = 4 * (params.count + 8) if params.raise_backlog else 0
    with netdev_backlog_at_least(wanted_backlog) as backlog:
        drops_before = softnet_drops()
        result = _measure(params)
        result["softnet_drops"] = softnet_drops() - drops_before
        result["netdev_max_backlog"] = backlog
    return result


def _measure(params: Params) -> dict[str, Any]:
    deadline = Deadline(params.timeout)
    result: dict[str, Any] = {"count": params.count}
    mem_before = meminfo()
    with bench_stack() as st:
        st.backend(0, "WEB0")
        client = st.client()
        prober = Prober(client)
        hand_host = st.host("hp", hand_ip(0))
        hand = HandHaproxy(hand_host, st.workdir)
        hand.write(hand_config(f"{hand_ip(0)}:80", backend_servers(1)))
        hand.start()
        time.sleep(0.5)
        hand_memory = total_memory(hand.pids())
        result["hand_memory"] = dataclasses.asdict(hand_memory)
        mem_start = meminfo()
        _log(f"creating {params.count} load balancers (budget {deadline.left():.0f} s)")
        created = create_all(st, params.count, deadline)
        vips = created.pop("vips")
        lb_ids = sorted(lb_id for lb_id in vips if lb_id in st.driver.records())
        result["create"] = created
        _log(f"{len(lb_ids)} deployed in {created['wall_s']:.0f} s; checking answers")
        result["answered"] = check_answers(prober, [vips[i] for i in lb_ids])
        result["answer_failures"] = dict(prober.failures)
        time.sleep(2)
        mem_full = meminfo()
        memories = [m for lb_id in lb_ids if (m := _lb_memory(st, lb_id)) is not None]
        result["memory"] = {
            "measured": len(memories),
            "uss_kb": [m.uss_kb for m, _ in memories], "pss_kb": [m.pss_kb for m, _ in memories],
            "rss_kb": [m.rss_kb for m, _ in memories],
            "processes": sum(len(pids) for _, pids in memories),
            "used_delta_kb": (mem_start["MemAvailable"] - mem_full["MemAvailable"]),
            "kernel_delta_kb": _kernel_kb(mem_full) - _kernel_kb(mem_start),
            "host_total_mb": mem_before["MemTotal"] / 1024,
        }
        _log("measuring idle CPU")
        result["idle_cpu"] = idle_cpu(st, lb_ids)
        result["raw_verify_s"] = raw_verify(st, lb_ids)
        _log("restarting the agent (resync)")
        result["resync"] = resync(st, set(lb_ids), timeout=max(60.0, min(600.0,
                                                                         deadline.left())))
        st.check_intact(lb_ids)
        result["held"] = len(lb_ids)
        _log("tearing down")
        teardown_started = time.monotonic()
    result["teardown_s"] = time.monotonic() - teardown_started
    left = [n for n in netns.list_lb_namespaces() if n in vips]
    result["namespaces_left"] = len(left)
    return result


def print_result(result: dict[str, Any]) -> None:
    count = result["count"]
    create = result["create"]
    mem = result["memory"]
    n = max(1, result["held"])
    hand = result["hand_memory"]
    uss = mem["uss_kb"] or [float("nan")]
    pss = mem["pss_kb"] or [float("nan")]
    rss = mem["rss_kb"] or [float("nan")]
    lat = create["latencies"] or [float("nan")]
    resync = result["resync"]
    serving = min(result["held"], result["answered"])
    rows: list[list[str]] = [
        ["load balancers held (namespace + haproxy) and answering",
         f"{serving:,} / {count:,}", "", "",
         goal(serving >= GOAL_COUNT) if count >= GOAL_COUNT else
         "[yellow]count below 1,000[/yellow]"],
        ["… held (namespace + haproxy running)", f"{result['held']:,}", "", "", ""],
        ["… answering through their VIP", f"{result['answered']:,}",
         ", ".join(f"{k} {v}" for k, v in sorted(result["answer_failures"].items())), "", ""],
        ["… provisioning status", ", ".join(f"{k} {v}" for k, v in
                                            sorted(create["statuses"].items())), "", "", ""],
        ["create: wall time (4 API clients)", f"{create['wall_s']:.1f} s",
         f"{create['deployed'] / create['wall_s']:.1f} LB/s" if create["wall_s"] else "", "", ""],
        ["create: POST → deployed, p50 / p99", f"{percentile(lat, 50):.2f} / "
         f"{percentile(lat, 99):.2f} s", "", "", ""],
        ["memory per LB: USS (master + worker), median",
         f"{percentile(uss, 50) / 1024:.2f} MiB", f"hand {hand['uss_kb'] / 1024:.2f} MiB",
         fmt(ratio(percentile(uss, 50), hand["uss_kb"])), ""],
        ["memory per LB: PSS, median", f"{percentile(pss, 50) / 1024:.2f} MiB",
         f"hand {hand['pss_kb'] / 1024:.2f} MiB",
         fmt(ratio(percentile(pss, 50), hand["pss_kb"])), ""],
        ["memory per LB: RSS, median", f"{percentile(rss, 50) / 1024:.2f} MiB",
         f"hand {hand['rss_kb'] / 1024:.2f} MiB",
         fmt(ratio(percentile(rss, 50), hand["rss_kb"])), ""],
        ["all haproxies: PSS total", f"{sum(pss) / 1024:,.0f} MiB",
         f"{mem['processes']:,} processes", "", ""],
        ["host used-memory growth per LB (whole host: noisy)",
         f"{mem['used_delta_kb'] / n / 1024:.2f} MiB",
         f"total {mem['used_delta_kb'] / 1024:,.0f} MiB of {mem['host_total_mb']:,.0f}",
         "", ""],
        ["… of which kernel (slab, page tables, stacks)",
         f"{mem['kernel_delta_kb'] / n / 1024:.2f} MiB", "", "", ""],
        ["idle CPU: API + agent process (stats 1 s, full sync 30 s)",
         f"{result['idle_cpu']['self_pct']:.1f} % of a core",
         "", "", ""],
        ["idle CPU: all haproxies", f"{result['idle_cpu']['haproxy_pct']:.1f} % of a core",
         "", "", ""],
        ["resync: fresh agent start → every LB verified",
         f"{resync['seconds']:.1f} s" + ("" if resync["complete"] else " (incomplete)"),
         f"bare check {result['raw_verify_s'] * 1000:.0f} ms",
         fmt(ratio(resync["seconds"], result["raw_verify_s"])),
         goal(resync["complete"] and resync["seconds"] < GOAL_RESYNC_S)],
        ["… resync outcomes", ", ".join(f"{k} {v}" for k, v in
                                         sorted(resync["actions"].items())), "", "", ""],
        ["host: net.core.netdev_max_backlog during the run",
         f"{result['netdev_max_backlog']:,}",
         f"{result['softnet_drops']:,} packets dropped (softnet backlog full)", "", ""],
        ["teardown (all haproxies, namespaces)", f"{result['teardown_s']:.1f} s",
         f"{result['namespaces_left']} namespaces left", "", ""],
    ]
    print_table(f"Density: {count:,} load balancers on one agent", [
        Column("measure", "left"), Column("lbaas"), Column("baseline / detail"),
        Column("÷ baseline"), Column("goal", "left")], rows, console=wide_console(),
        caption="Baselines of the same run: a hand-written minimal haproxy (memory), a bare "
                "namespace + master-socket check loop (resync). Goals: 1,000 per agent, resync "
                "under 30 s (informational).")
    print_table("Where a restarted agent's resync goes (per load balancer)", [
        Column("step", "left"), Column("n"), Column("p50 ms"), Column("sum over LBs, s")],
        [[s["step"], str(s["n"]), fmt(s["p50_ms"]), fmt(s["sum_s"])]
         for s in resync["steps"]], console=wide_console(),
        caption=(f"The agent runs {resync['workers']} refreshes in parallel. A settled stats "
                 f"pass (every LB: show proc + show stat, 5 ms apart, at most every 1 s) takes "
                 f"{resync['stats_pass_s']:.2f} s."))
    if create["post_error_count"]:
        print(f"  {create['post_error_count']} creates failed, e.g. {create['post_errors'][0]}")
    if create["timed_out"]:
        print("  the creation phase ran out of its time budget (--timeout)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.density", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 load balancers (smoke test)")
    parser.add_argument("--count", type=int, help="load balancers to create")
    parser.add_argument("--timeout", type=float,
                        help="budget of the creation phase in seconds (default 3600, quick 300)")
    parser.add_argument("--no-raise-backlog", dest="raise_backlog", action="store_false",
                        help="leave net.core.netdev_max_backlog as it is (see above)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    params = dataclasses.replace(params, raise_backlog=args.raise_backlog, **{
        k: v for k, v in (("count", args.count), ("timeout", args.timeout)) if v is not None})
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        result = measure(params)
    print_result(result)
    finish(started, args.json, params, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
