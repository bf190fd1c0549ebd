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
* the periodic sync of unchanged load balancers: CPU of this process for a full one (every tree
  fetched, rendered and compared, as every resync did before revisions) and a light one (the
  revisions compared, nothing fetched), and what each costs a core at ``resync_interval``;
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

from bench.common import percentile, process_cpu_seconds, sigterm_exits
from bench.density_report import print_result
from bench.lab import (
    backend_members,
    backend_servers,
    hand_ip,
    netdev_backlog_at_least,
    softnet_drops,
)
from bench.prober import Prober
from bench.procstat import Memory, meminfo, total_memory
from bench.report import median
from bench.run import Deadline, finish
from bench.servers import HandHaproxy, hand_config
from bench.stack import BenchStack, bench_stack, full_tree
from bench.timeline import Timeline, agent_hooks, patched, spans
from lbaas.agent.stats_pacing import StatsPacing, idle_passes
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import namespace_path

MAX_PER_BRIDGE = 1020
IDLE_WINDOW_S = 10.0
CREATE_THREADS = 4


@dataclasses.dataclass(frozen=True)
class Params:
    count: int
    timeout: float
    raise_backlog: bool = True
    idle_interval: float = 0.0  # [agent] stats_idle_interval to measure (0: the configured one)


FULL = Params(count=1000, timeout=3600)
QUICK = Params(count=20, timeout=300, idle_interval=4.0)


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


def idle_cpu(st: BenchStack, lb_ids: list[str], params: Params) -> dict[str, Any]:
    """CPU of this process (API + agent) and of every haproxy while nothing happens, twice: with
    every load balancer's stats read every pass (``[agent] stats_idle_interval = 0``, what every
    pass did before pacing) over :data:`IDLE_WINDOW_S`, then paced (quiet load balancers read
    every ``params.idle_interval`` s, or the configured interval) over one such interval once
    every load balancer is at rest (the readings of a quiet load balancer come in bursts)."""
    manager = st.agent.manager
    interval = st.conf.agent.stats_interval
    idle_s = params.idle_interval or st.conf.agent.stats_idle_interval
    paced = StatsPacing(idle_passes(idle_s, interval))
    manager.stats_pacing = StatsPacing(1)
    time.sleep(2 * interval)  # a pass under the new pacer
    every_pass = _cpu_window(st, lb_ids, IDLE_WINDOW_S)
    manager.stats_pacing = paced
    deadline = time.monotonic() + 3 * idle_s + 30
    while paced.at_rest() < len(lb_ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    at_rest = paced.at_rest()
    window = max(IDLE_WINDOW_S, idle_s)
    return {"every_pass": every_pass, "paced": _cpu_window(st, lb_ids, window),
            "idle_interval_s": idle_s, "at_rest": at_rest, "paced_window_s": window}


def _cpu_window(st: BenchStack, lb_ids: list[str], seconds: float) -> dict[str, float]:
    """Share of a core used by this process and by all haproxies over ``seconds``."""
    pids = [pid for lb_id in lb_ids for pid in st.lb_pids(lb_id)]
    me = os.getpid()
    before_self = process_cpu_seconds(me)
    before_hap = sum(process_cpu_seconds(pid) for pid in pids)
    time.sleep(seconds)
    return {"self_pct": (process_cpu_seconds(me) - before_self) / seconds * 100,
            "haproxy_pct": (sum(process_cpu_seconds(pid) for pid in pids) - before_hap)
            / seconds * 100}


SYNC_ROUNDS = 3
"""Periodic syncs of each kind (full, light) timed by :func:`sync_cost`, alternating."""


def sync_cost(st: BenchStack, rounds: int = SYNC_ROUNDS) -> dict[str, Any]:
    """CPU seconds of this process (API + agent) for one periodic sync of load balancers that
    did not change: a full one (every tree fetched, rendered, compared: what every resync did
    before revisions) and a light one (revisions compared), alternating, each until the agent's
    queue drained; medians."""
    manager = st.agent.manager
    seconds: dict[str, list[float]] = {"full": [], "light": []}
    me = os.getpid()
    for _ in range(rounds):
        for kind in ("full", "light"):
            before = process_cpu_seconds(me)
            manager.sync_state(full=kind == "full")
            manager.queue.join(600)
            seconds[kind].append(process_cpu_seconds(me) - before)
    return {kind: median(values) for kind, values in seconds.items()} | {
        "rounds": rounds, "full_every": st.conf.agent.full_resync_every,
        "interval_s": st.conf.agent.resync_interval}


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
        os.stat(namespace_path(vip_plug.namespace_name(lb_id)))
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
        result["idle_cpu"] = idle_cpu(st, lb_ids, params)
        _log("timing periodic syncs (full, light)")
        result["sync_cost"] = sync_cost(st)
        result["raw_verify_s"] = raw_verify(st, lb_ids)
        _log("restarting the agent (resync)")
        result["resync"] = resync(st, set(lb_ids), timeout=max(60.0, min(600.0,
                                                                         deadline.left())))
        st.check_intact(lb_ids)
        result["held"] = len(lb_ids)
        _log("tearing down")
        teardown_started = time.monotonic()
    result["teardown_s"] = time.monotonic() - teardown_started
    left = [n for n in vip_plug.list_lb_namespaces() if n in vips]
    result["namespaces_left"] = len(left)
    return result


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
