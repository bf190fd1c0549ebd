"""Takeover of ACTIVE_STANDBY load balancers: what a client loses when the copy holding the VIP
fails (its node lost, its haproxy killed) or is switched on purpose (planned failover), how long
until the pair is whole again after a node loss, and what a pair costs in memory, against a
keepalived pair built by hand measured in the same run.

    uv run python -m bench.takeover [--quick] [--reps N] [--memory-count N] [--json FILE]

The lab is ``tests/nodelab``'s (a private RabbitMQ, PostgreSQL, one ``lbaas server``, three
network nodes each running ``lbaas agent``) with lbaas's defaults (VRRP advert every 0.3 s,
keepalived's haproxy check every 1 s, heartbeats every 2 s, agents dead after 6 s). One pair
(HTTP listener, two backends, HTTP monitor; flavor with ``loadbalancer_topology``
ACTIVE_STANDBY) takes every fault, one repetition after another, each starting from a settled
pair (one copy holds the VIP as MASTER, the other is BACKUP, the API agrees, ACTIVE/ONLINE).
The client (``bench.paced``, a process in the client namespace) opens a new connection through
the VIP every 10 ms, open loop, each allowed 1 s (3 s for the planned failover, so a SYN
retransmitted once is not a failure). The fault comes 0.2 s plus a random 0-1 s after the
client started, so that the repetitions do not all hit the same phase of the VRRP adverts (or of
keepalived's checks and the agent's passes). Per repetition: failed attempts, and the outage:
from the first failed attempt to the first successful one after it (0 when nothing failed).

1. **Node loss** (``Node.lose()`` on the MASTER's node: its uplinks cut and its agent, haproxies
   and keepalived killed at once), ``--reps`` times (20; quick 2). The same repetition measures
   **redundancy restored** (3.): from the loss until the amphora API shows two copies ALLOCATED
   on live nodes and the load balancer is ACTIVE/ONLINE, with when the API first showed the
   agent dead and when the replacement copy was ALLOCATED. Then the lost node comes back
   (``Node.come_back()``, its stale copy removed) so that a third node is free for the next
   loss; the client keeps going meanwhile and what it lost then is reported apart.
2. **haproxy death**: SIGKILL of the MASTER's haproxy master and workers. Recorded each time
   (10 ms marks from the files of both copies): which recovery came first, the agent
   restarting the haproxy in place (its stats pass finds it dead) or the other copy's
   keepalived becoming MASTER (the MASTER's check failed and it gave the VIP up), and whether
   the VIP moved all the same after an in-place restart.
3. **Planned failover**: ``PUT /v2/lbaas/loadbalancers/{id}/failover``; also the time from the
   PUT until the other copy holds the VIP.
4. **Memory** (last, on fresh load balancers): ``--memory-count`` SINGLE load balancers and as
   many pairs (5; quick 2): USS of each copy's haproxy (master and workers) and keepalived
   (parent and VRRP child) on its node, and the kernel memory of a namespace: the host's growth
   of Slab + PageTables + KernelStack (``/proc/meminfo``, as ``bench.density``) while they were
   created, per namespace (host-wide: anything else running on the machine moves it).

Baseline of the same run (``bench.rawpair``): a keepalived pair built by hand on a bridge of its
own (two namespaces, a tiny haproxy in each, keepalived configured as Octavia does: unicast,
``nopreempt``, ``advert_int 1``), the same client, ``--reps`` times each: the MASTER's link cut
(the node-loss equivalent) and SIGTERM to the MASTER's keepalived (a clean handover); and again
with lbaas's advert interval. The table divides lbaas's outage by these: node loss by the link
cut, haproxy death and planned failover by SIGTERM.

Quoted, not measured here: raw keepalived measured earlier on this machine with ``advert_int 1``
took 1.0 s (SIGTERM) to 3.8 s (link down); Octavia reports 68-72 s until a load balancer is
ACTIVE again after an amphora failure.

Goals (informational; the exit status is 0 unless something broke): node loss outage p50 under
1.5 s, haproxy death p50 under 2.5 s, no failed request in any planned failover, redundancy
restored p50 under 30 s.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.markup import escape

from bench.common import Column, fmt, print_table, sigterm_exits
from bench.failover import DeathWatch
from bench.paced import OpenPaced
from bench.procstat import Memory, meminfo, total_memory
from bench.rawpair import jitter, measured, raw_pair, wait_recovered
from bench.report import goal, p50_p99, ratio, wide_console
from bench.run import finish
from bench.sweep import sweep_stale
from lbaas.config import KEEPALIVED_OPTS
from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.keepalived.paths import KeepalivedPaths
from tests.nodelab.procs import Repeating

GOAL_NODE_LOSS_P50_S = 1.5
GOAL_HAPROXY_P50_S = 2.5
GOAL_REDUNDANCY_P50_S = 30.0
OCTAVIA_ACTIVE_AGAIN_S = (68.0, 72.0)
RAW_QUOTED = {"sigterm_s": 1.0, "link_down_s": 3.8, "advert_int_s": 1.0}
OCTAVIA_ADVERT_S = 1.0
LBAAS_ADVERT_S = float(next(o.default for o in KEEPALIVED_OPTS if o.name == "advert_interval"))

SETTLE_TIMEOUT = 120.0
REDUNDANCY_TIMEOUT = 180.0
RECOVERY_TIMEOUT = 60.0
AFTER_RECOVERY_S = 1.0

IN_PLACE = "restarted in place"
"""haproxy death: the agent restarted the haproxy and the VIP stayed."""
OTHER_COPY = "other copy took over"
"""haproxy death: the BACKUP became MASTER before the agent restarted the haproxy."""
IN_PLACE_THEN_MOVED = "restarted in place, then the VIP moved"
"""haproxy death: the agent restarted the haproxy first, then the VIP moved all the same
(keepalived's check had failed meanwhile)."""
RECOVERY_MARK = {IN_PLACE: "I", OTHER_COPY: "O", IN_PLACE_THEN_MOVED: "M"}
"""Seconds the client keeps going after traffic came back (a late failure still counts)."""


@dataclasses.dataclass(frozen=True)
class Params:
    reps: int
    memory_count: int
    quiet_s: float = 2.0
    """Seconds a pair's roles must stay put to count as settled before a repetition."""
    nodes: int = 3
    raw_adverts: tuple[float, ...] = tuple(dict.fromkeys((OCTAVIA_ADVERT_S, LBAAS_ADVERT_S)))


FULL = Params(reps=20, memory_count=5)
QUICK = Params(reps=2, memory_count=2)


def _log(message: str) -> None:
    print(f"[takeover {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The lbaas pair


def pair_view(lab: Any, lb: dict[str, Any]) -> tuple[str, str] | None:
    """(MASTER's node, BACKUP's node) when one copy holds the VIP, the amphora API shows two
    ALLOCATED copies on live nodes, that one MASTER and the other BACKUP, and the load balancer
    is ACTIVE/ONLINE; else None."""
    from tests.nodelab.pairs import copies, holders, statuses

    held = holders(lab, lb)
    if len(held) != 1:
        return None
    pair = copies(lab, lb["id"])
    live = {node.name for node in lab.nodes if not node.lost}
    if len(pair) != 2 or any(c["status"] != "ALLOCATED" or c["agent_host"] not in live
                             for c in pair):
        return None
    roles = {c["role"]: c["agent_host"] for c in pair}
    if set(roles) != {"MASTER", "BACKUP"} or roles["MASTER"] != held[0]:
        return None
    if statuses(lab, lb["id"]) != ("ACTIVE", "ONLINE"):
        return None
    return roles["MASTER"], roles["BACKUP"]


def settle(lab: Any, lb: dict[str, Any], quiet: float) -> tuple[str, str]:
    """Wait for :func:`pair_view` to hold, unchanged for ``quiet`` seconds."""
    from tests.nodelab.procs import wait_until

    give_up = time.monotonic() + SETTLE_TIMEOUT
    while True:
        first: tuple[str, str] = wait_until(lambda: pair_view(lab, lb),
                                            max(1.0, give_up - time.monotonic()),
                                            "the pair to settle", interval=0.2)
        deadline = time.monotonic() + quiet
        while time.monotonic() < deadline and pair_view(lab, lb) == first:
            time.sleep(0.2)
        if time.monotonic() >= deadline:
            return first
        if time.monotonic() > give_up:
            raise TimeoutError(f"the pair did not settle within {SETTLE_TIMEOUT:.0f} s")


def whole(lab: Any, lb_id: str) -> bool:
    """Redundancy restored: two copies ALLOCATED on two live nodes, ACTIVE/ONLINE."""
    from tests.nodelab.pairs import copies, statuses

    pair = copies(lab, lb_id)
    live = {node.name for node in lab.nodes if not node.lost}
    hosts = {c["agent_host"] for c in pair}
    return (len(pair) == 2 and len(hosts) == 2 and hosts <= live
            and all(c["status"] == "ALLOCATED" for c in pair)
            and statuses(lab, lb_id) == ("ACTIVE", "ONLINE"))


class Watch(Repeating):
    """Every 10 ms, on a thread: when the BACKUP copy's keepalived first says MASTER (its
    ``vrrp.state`` file, which keepalived's notify script rewrites at each change) and, with
    ``killed``, when a haproxy other than those pids first runs for the MASTER's copy (its pid
    file: the agent restarted it). Plain file reads, so the marks are within about 10 ms."""

    def __init__(self, lb_id: str, master: Any, backup: Any,
                 killed: list[int] | None = None) -> None:
        super().__init__(0.01, "bench-takeover-watch")
        self.state_file = KeepalivedPaths.for_load_balancer(backup.state_path, lb_id).state
        self.pid_file = HaproxyProcess(lb_id, master.state_path).paths.pid
        self.killed = killed
        self.backup_master_at: float | None = None
        self.haproxy_back_at: float | None = None

    def step(self) -> None:
        now = time.monotonic()
        if self.backup_master_at is None:
            with contextlib.suppress(OSError):
                if self.state_file.read_text().strip() == "MASTER":
                    self.backup_master_at = now
        if self.killed is not None and self.haproxy_back_at is None:
            with contextlib.suppress(OSError, ValueError):
                pid = int(self.pid_file.read_text().split()[0])
                if pid not in self.killed and os.path.exists(f"/proc/{pid}"):
                    self.haproxy_back_at = now

    def after(self, began: float, mark: float | None) -> float | None:
        return None if mark is None else mark - began


def node_loss(lab: Any, lb: dict[str, Any], quiet: float) -> dict[str, Any]:
    """One repetition of 1. and 3.: lose the MASTER's node, time the takeover and the pair
    becoming whole again, then bring the node back."""
    from tests.nodelab.pairs import copies, holders
    from tests.nodelab.procs import wait_until

    master_name, backup_name = settle(lab, lb, quiet)
    master, backup = lab.node_named(master_name), lab.node_named(backup_name)
    replacement: dict[str, float] = {}
    with OpenPaced(lab.client, lb["vip_address"]) as traffic, \
            DeathWatch(lab, master_name) as watch, Watch(lb["id"], master, backup) as roles:
        jitter()
        began = time.monotonic()
        try:
            master.lose()
            recovered = wait_recovered(traffic, began,
                                       lambda: holders(lab, lb) == [backup_name],
                                       RECOVERY_TIMEOUT)

            def restored() -> bool:
                if "allocated" not in replacement and any(
                        c["agent_host"] not in (master_name, backup_name)
                        and c["status"] == "ALLOCATED" for c in copies(lab, lb["id"])):
                    replacement["allocated"] = time.monotonic()
                return whole(lab, lb["id"])

            wait_until(restored, REDUNDANCY_TIMEOUT, "the pair to be whole again",
                       interval=0.2)
            restored_at = time.monotonic()
        except Exception:  # the node comes back for what follows; the error goes on
            if master.lost:
                with contextlib.suppress(Exception):
                    master.come_back()
            raise
        returned = time.monotonic()
        master.come_back()
        placed = {c["agent_host"] for c in copies(lab, lb["id"])}
        if master_name not in placed:
            wait_until(lambda: f"qlbaas-{lb['id']}" not in master.namespaces(), 60,
                       f"{master_name} to remove its stale copy")
        new_master, _ = settle(lab, lb, quiet)
        settled_at = time.monotonic()
    figures = measured(traffic, began, recovered)
    during_loss = traffic.failures_between(began, restored_at)
    return {
        **figures,
        "failed": during_loss,
        "failed_after_recovery": traffic.failures_between(recovered or began, restored_at)
        if recovered is not None else during_loss,
        "failed_while_returning": traffic.failures_between(returned, settled_at),
        "lost": master_name, "taken_over_by": backup_name, "master_after": new_master,
        "backup_master_s": roles.after(began, roles.backup_master_at),
        "dead_seen_s": None if watch.dead_at is None else watch.dead_at - began,
        "replacement_allocated_s": (replacement["allocated"] - began
                                    if "allocated" in replacement else None),
        "redundancy_restored_s": restored_at - began,
        "come_back_s": settled_at - returned,
    }


def haproxy_death(lab: Any, lb: dict[str, Any], quiet: float) -> dict[str, Any]:
    """One repetition of 2.: SIGKILL of the MASTER's haproxy (master and workers). Which
    recovery served again: the one that came first of the agent restarting the haproxy in
    place and the BACKUP's keepalived becoming MASTER (keepalived's check failed on the
    MASTER, which gave the VIP up)."""
    from tests.nodelab.pairs import haproxy_pids, holders
    from tests.nodelab.procs import wait_until

    master_name, backup_name = settle(lab, lb, quiet)
    master, backup = lab.node_named(master_name), lab.node_named(backup_name)
    killed = haproxy_pids(master, lb["id"])
    with OpenPaced(lab.client, lb["vip_address"]) as traffic, \
            Watch(lb["id"], master, backup, killed) as marks:
        jitter()
        began = time.monotonic()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        recovered = wait_recovered(traffic, began, lambda: holders(lab, lb) == [backup_name],
                                   RECOVERY_TIMEOUT)
        wait_until(lambda: marks.haproxy_back_at is not None, 60,
                   "the agent to restart the killed haproxy", interval=0.05)
        time.sleep(AFTER_RECOVERY_S)
        new_master, _ = settle(lab, lb, quiet)
    taken_over = marks.after(began, marks.backup_master_at)
    restarted = marks.after(began, marks.haproxy_back_at)
    if taken_over is None:
        recovery = IN_PLACE
    elif restarted is None or taken_over <= restarted:
        recovery = OTHER_COPY
    else:
        recovery = IN_PLACE_THEN_MOVED
    return {
        **measured(traffic, began, recovered), "master": master_name,
        "recovery": recovery, "master_after": new_master,
        "backup_master_s": taken_over, "haproxy_back_s": restarted,
        "failed_after_recovery": traffic.failures_after(recovered) if recovered else 0,
    }


def planned_failover(lab: Any, lb: dict[str, Any], quiet: float) -> dict[str, Any]:
    """One repetition of 3.: ``PUT /loadbalancers/{id}/failover``; the client's attempts may
    take 3 s each (a SYN retransmitted after 1 s is not a failure)."""
    from tests.nodelab.pairs import CHANGE_TIMEOUT, holders
    from tests.nodelab.procs import wait_until

    master_name, backup_name = settle(lab, lb, quiet)
    master, backup = lab.node_named(master_name), lab.node_named(backup_name)
    api = lab.api(1, "admin")
    with OpenPaced(lab.client, lb["vip_address"], timeout=3.0) as traffic, \
            Watch(lb["id"], master, backup) as marks:
        jitter()
        began = time.monotonic()
        status = api.put(f"/loadbalancers/{lb['id']}/failover", {}).status_code
        if status != 202:
            raise RuntimeError(f"PUT .../failover answered {status}")
        wait_until(lambda: holders(lab, lb) == [backup_name], CHANGE_TIMEOUT,
                   "the VIP to move to the other copy", interval=0.05)
        api.wait_active(lb["id"], timeout=CHANGE_TIMEOUT)
        active = time.monotonic()
        new_master, _ = settle(lab, lb, quiet)
        time.sleep(0.5)
    return {
        **measured(traffic, began, traffic.recovered_after(began)),
        "master": master_name, "master_after": new_master,
        "backup_master_s": marks.after(began, marks.backup_master_at),
        "active_s": active - began,
    }


# --------------------------------------------------------------------------------------------
# Memory


def measure_memory(lab: Any, flavor_id: str, count: int) -> dict[str, Any]:
    """``count`` SINGLE load balancers, then ``count`` pairs: memory per copy on its node."""
    from tests.nodelab.pairs import copies, create_pair, haproxy_pids, keepalived_pids

    def kernel(info: dict[str, int]) -> int:
        return info.get("Slab", 0) + info.get("PageTables", 0) + info.get("KernelStack", 0)

    def parallel(make: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="bench-mem") as pool:
            return list(pool.map(make, range(count)))

    def single(n: int) -> dict[str, Any]:
        lb: dict[str, Any] = lab.create_lb(f"mem-single-{n}", timeout=180)
        lab.wait_serving(lb["vip_address"], timeout=60)
        return lb

    time.sleep(1)
    before = meminfo()
    singles = parallel(single)
    time.sleep(2)
    middle = meminfo()
    pairs = parallel(lambda n: create_pair(lab, flavor_id, f"mem-pair-{n}"))
    time.sleep(2)
    after = meminfo()

    single_rows = []
    for lb in singles:
        node = lab.hosting_node(lb["id"])
        haproxy = total_memory(haproxy_pids(node, lb["id"]))
        single_rows.append({"lb": lb["id"], "node": node.name,
                            "haproxy": dataclasses.asdict(haproxy)})
    copy_rows = []
    for lb in pairs:
        for c in copies(lab, lb["id"]):
            node = lab.node_named(c["agent_host"])
            haproxy_of = haproxy_pids(node, lb["id"])
            keepalived_of = keepalived_pids(node, lb["id"])
            copy_rows.append({
                "lb": lb["id"], "node": node.name, "role": c["role"],
                "haproxy": dataclasses.asdict(total_memory(haproxy_of)),
                "keepalived": dataclasses.asdict(total_memory(keepalived_of)),
                "processes": len(haproxy_of) + len(keepalived_of),
            })
    return {
        "count": count, "singles": single_rows, "copies": copy_rows,
        "kernel_single_delta_kb": kernel(middle) - kernel(before),
        "kernel_pairs_delta_kb": kernel(after) - kernel(middle),
        "available_single_delta_kb": before["MemAvailable"] - middle["MemAvailable"],
        "available_pairs_delta_kb": middle["MemAvailable"] - after["MemAvailable"],
        "namespaces": {"single": len(singles), "pairs": 2 * len(pairs)},
    }


# --------------------------------------------------------------------------------------------
# The run


def repeat(what: str, reps: int, one: Callable[[], dict[str, Any]],
           errors: list[str]) -> list[dict[str, Any]]:
    """``one()`` ``reps`` times; an error ends the series (recorded, the run goes on)."""
    done: list[dict[str, Any]] = []
    for rep in range(reps):
        began = time.monotonic()
        try:
            result = one()
        except Exception as exc:
            errors.append(f"{what}, repetition {rep + 1}: {exc!r}")
            _log(f"{what}: repetition {rep + 1} failed: {exc!r}\n{traceback.format_exc()}")
            break
        result["rep_s"] = round(time.monotonic() - began, 2)
        done.append(result)
        _log(f"{what} {rep + 1}/{reps}: outage {fmt(result.get('outage_s'))} s, "
             f"{result.get('failed')} failed ({result['rep_s']:.0f} s)"
             + (f", {result['recovery']}" if "recovery" in result else "")
             + (f", whole after {result['redundancy_restored_s']:.1f} s"
                if "redundancy_restored_s" in result else ""))
    return done


def measure_raw(params: Params, errors: list[str]) -> dict[str, Any]:
    """The hand-built keepalived pair at each advert interval: link cut and SIGTERM."""
    out: dict[str, Any] = {}
    try:
        with raw_pair(params.raw_adverts[0]) as pair:
            for advert in params.raw_adverts:
                _log(f"raw keepalived pair, advert {advert:g} s")
                pair.configure(advert)
                key = f"{advert:g}"
                out[f"link_{key}"] = repeat(f"raw link cut (advert {key} s)", params.reps,
                                            pair.link_cut, errors)
                out[f"sigterm_{key}"] = repeat(f"raw SIGTERM (advert {key} s)", params.reps,
                                               pair.keepalived_sigterm, errors)
    except Exception as exc:
        errors.append(f"raw keepalived pair: {exc!r}")
        _log(f"raw keepalived pair failed: {exc!r}\n{traceback.format_exc()}")
    return out


def measure(params: Params) -> dict[str, Any]:
    from tests.nodelab import NodeLab
    from tests.nodelab.pairs import create_pair, pair_flavor

    errors: list[str] = []
    result: dict[str, Any] = {"errors": errors, "load_start": os.getloadavg()}
    for swept in sweep_stale():  # what benchmark runs killed with SIGKILL left
        _log(f"swept {swept}")
    _log("starting the node lab")
    with NodeLab(nodes=params.nodes, servers=1) as lab:
        _log(f"lab up: {lab.timings}")
        result["raw"] = measure_raw(params, errors)
        flavor_id = pair_flavor(lab)
        lb = create_pair(lab, flavor_id, "takeover")
        settle(lab, lb, params.quiet_s)
        lbaas: dict[str, Any] = {}
        result["lbaas"] = lbaas
        lbaas["haproxy_death"] = repeat("haproxy death", params.reps,
                                        lambda: haproxy_death(lab, lb, params.quiet_s), errors)
        lbaas["planned"] = repeat("planned failover", params.reps,
                                  lambda: planned_failover(lab, lb, params.quiet_s), errors)
        lbaas["node_loss"] = repeat("node loss", params.reps,
                                    lambda: node_loss(lab, lb, params.quiet_s), errors)
        _log(f"memory: {params.memory_count} SINGLE load balancers and as many pairs")
        try:
            result["memory"] = measure_memory(lab, flavor_id, params.memory_count)
        except Exception as exc:
            errors.append(f"memory: {exc!r}")
            _log(f"memory failed: {exc!r}\n{traceback.format_exc()}")
        _log("tearing down the lab")
        result["lab_timings"] = lab.timings
    result["load_end"] = os.getloadavg()
    return result


# --------------------------------------------------------------------------------------------
# Summary and tables


def _series(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 and max of failed attempts and of the outage (0 when nothing failed)."""
    failed = [float(r["failed"]) for r in reps]
    outage = [float(r["outage_s"] or 0.0) for r in reps]
    return {
        "n": len(reps),
        "failed_p50": p50_p99(failed)[0], "failed_max": max(failed, default=float("nan")),
        "outage_p50_s": p50_p99(outage)[0],
        "outage_max_s": max(outage, default=float("nan")),
    }


def _p50(values: list[float | None]) -> float:
    return p50_p99([v for v in values if v is not None])[0]


def _max(values: list[float | None]) -> float:
    return max((v for v in values if v is not None), default=float("nan"))


ROW_LABELS = {
    "raw_link_octavia": "raw keepalived, advert 1 s (Octavia's): link cut",
    "raw_sigterm_octavia": "raw keepalived, advert 1 s (Octavia's): SIGTERM",
    "raw_link_lbaas": "raw keepalived, advert {a} s (lbaas's): link cut",
    "raw_sigterm_lbaas": "raw keepalived, advert {a} s (lbaas's): SIGTERM",
    "node_loss": "lbaas: MASTER's node lost (÷ raw link cut)",
    "haproxy_death": "lbaas: MASTER's haproxy killed (÷ raw SIGTERM)",
    "planned": "lbaas: planned failover, 3 s timeout (÷ raw SIGTERM)",
}
BASELINE_OF = {"node_loss": "link", "haproxy_death": "sigterm", "planned": "sigterm"}


def summarize(measured_: dict[str, Any], params: Params) -> dict[str, Any]:
    raw = measured_.get("raw", {})
    lbaas = measured_.get("lbaas", {})
    rows: list[dict[str, Any]] = []
    octavia_key, lbaas_key = f"{OCTAVIA_ADVERT_S:g}", f"{LBAAS_ADVERT_S:g}"
    for kind in ("link", "sigterm"):
        for which, key in (("octavia", octavia_key), ("lbaas", lbaas_key)):
            reps = raw.get(f"{kind}_{key}", [])
            rows.append({"key": f"raw_{kind}_{which}", "advert_s": float(key),
                         "label": ROW_LABELS[f"raw_{kind}_{which}"].format(a=lbaas_key),
                         **_series(reps)})
    by_key = {row["key"]: row for row in rows}
    for key in ("node_loss", "haproxy_death", "planned"):
        reps = lbaas.get(key, [])
        row: dict[str, Any] = {"key": key, "label": ROW_LABELS[key], **_series(reps)}
        kind = BASELINE_OF[key]
        row["baseline"] = kind
        row["vs_raw_octavia"] = ratio(row["outage_p50_s"],
                                      by_key[f"raw_{kind}_octavia"]["outage_p50_s"])
        row["vs_raw_lbaas"] = ratio(row["outage_p50_s"],
                                    by_key[f"raw_{kind}_lbaas"]["outage_p50_s"])
        row["backup_master_p50_s"] = _p50([r.get("backup_master_s") for r in reps])
        if key == "node_loss":
            row["goal"] = f"p50 < {GOAL_NODE_LOSS_P50_S:g} s"
            row["goal_met"] = bool(reps) and row["outage_p50_s"] < GOAL_NODE_LOSS_P50_S
        elif key == "haproxy_death":
            row["goal"] = f"p50 < {GOAL_HAPROXY_P50_S:g} s"
            row["goal_met"] = bool(reps) and row["outage_p50_s"] < GOAL_HAPROXY_P50_S
            recoveries: dict[str, list[float]] = {}
            for r in reps:
                recoveries.setdefault(r["recovery"], []).append(float(r["outage_s"] or 0.0))
            row["recoveries"] = {how: {"n": len(v), "outage_p50_s": p50_p99(v)[0]}
                                 for how, v in recoveries.items()}
            row["recovery_sequence"] = [r["recovery"] for r in reps]
            row["haproxy_back_p50_s"] = _p50([r.get("haproxy_back_s") for r in reps])
            row["failed_after_recovery_max"] = max(
                (float(r["failed_after_recovery"]) for r in reps), default=float("nan"))
        else:
            row["goal"] = "0 failed"
            row["goal_met"] = bool(reps) and row["failed_max"] == 0
        rows.append(row)
    if params.reps:
        for row in rows:
            row["complete"] = row["n"] == params.reps

    losses = lbaas.get("node_loss", [])
    restored = [r["redundancy_restored_s"] for r in losses]
    redundancy: dict[str, Any] = {
        "n": len(losses),
        "dead_seen_p50_s": _p50([r["dead_seen_s"] for r in losses]),
        "dead_seen_max_s": _max([r["dead_seen_s"] for r in losses]),
        "replacement_allocated_p50_s": _p50([r["replacement_allocated_s"] for r in losses]),
        "replacement_allocated_max_s": _max([r["replacement_allocated_s"] for r in losses]),
        "restored_p50_s": _p50(restored), "restored_max_s": _max(restored),
        "failed_after_takeover_max": max((r["failed_after_recovery"] for r in losses),
                                         default=None),
        "come_back_p50_s": _p50([r["come_back_s"] for r in losses]),
        "failed_while_returning_max": max((r["failed_while_returning"] for r in losses),
                                          default=None),
        "octavia_quoted_s": list(OCTAVIA_ACTIVE_AGAIN_S),
    }
    redundancy["vs_octavia"] = ratio(sum(OCTAVIA_ACTIVE_AGAIN_S) / 2,
                                     redundancy["restored_p50_s"])
    redundancy["goal_met"] = bool(losses) and redundancy["restored_p50_s"] < \
        GOAL_REDUNDANCY_P50_S
    return {"rows": rows, "redundancy": redundancy,
            "memory": summarize_memory(measured_.get("memory"))}


def summarize_memory(memory: dict[str, Any] | None) -> dict[str, Any]:
    if not memory:
        return {}
    singles, copies = memory["singles"], memory["copies"]

    def avg(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    def uss(entry: dict[str, Any], what: str) -> float:
        return float(Memory(**entry[what]).uss_kb)

    kernel_single = memory["kernel_single_delta_kb"] / max(1, memory["namespaces"]["single"])
    kernel_copy = memory["kernel_pairs_delta_kb"] / max(1, memory["namespaces"]["pairs"])
    single_haproxy = avg([uss(s, "haproxy") for s in singles])
    copy_haproxy = avg([uss(c, "haproxy") for c in copies])
    copy_keepalived = avg([uss(c, "keepalived") for c in copies])
    single_total = single_haproxy + kernel_single
    copy_total = copy_haproxy + copy_keepalived + kernel_copy
    return {
        "single": {"n": len(singles), "haproxy_uss_kb": single_haproxy,
                   "keepalived_uss_kb": 0.0, "kernel_kb": kernel_single,
                   "total_kb": single_total, "vs_single": 1.0},
        "pair_copy": {"n": len(copies), "haproxy_uss_kb": copy_haproxy,
                      "keepalived_uss_kb": copy_keepalived, "kernel_kb": kernel_copy,
                      "total_kb": copy_total, "vs_single": ratio(copy_total, single_total)},
        "pair": {"n": len(copies) // 2, "haproxy_uss_kb": 2 * copy_haproxy,
                 "keepalived_uss_kb": 2 * copy_keepalived, "kernel_kb": 2 * kernel_copy,
                 "total_kb": 2 * copy_total, "vs_single": ratio(2 * copy_total, single_total)},
    }


def _mib(kb: float) -> str:
    return fmt(kb / 1024)


def _count(value: float) -> str:
    return "—" if value != value else f"{value:g}"


def print_summary(summary: dict[str, Any], measured_: dict[str, Any], params: Params) -> None:
    console = wide_console()
    quoted_style = "dim italic"
    rows: list[list[str]] = [
        [escape("raw keepalived, advert 1 s: SIGTERM / link down [quoted]"), "", "", "",
         f"{RAW_QUOTED['sigterm_s']:g} / {RAW_QUOTED['link_down_s']:g}", "", "", "", ""],
    ]
    styles: list[str | None] = [quoted_style]
    for row in summary["rows"]:
        rows.append([
            escape(row["label"]), str(row["n"]), _count(row["failed_p50"]),
            _count(row["failed_max"]), fmt(row["outage_p50_s"]), fmt(row["outage_max_s"]),
            fmt(row.get("vs_raw_octavia")) if "baseline" in row else "",
            fmt(row.get("vs_raw_lbaas")) if "baseline" in row else "",
            f"{row['goal']}: {goal(row['goal_met'])}" if "goal" in row else "",
        ])
        styles.append(None)
    load = (f"Load average {measured_['load_start'][0]:.2f} at the start, "
            f"{measured_.get('load_end', (float('nan'),))[0]:.2f} at the end, "
            f"{os.cpu_count()} CPUs")
    haproxy: dict[str, Any] = next(
        (r for r in summary["rows"] if r["key"] == "haproxy_death"), {})
    by_recovery = "; ".join(f"{RECOVERY_MARK.get(how, '?')}: {v['n']}, outage p50 "
                            f"{fmt(v['outage_p50_s'])} s"
                            for how, v in sorted(haproxy.get("recoveries", {}).items()))
    sequence = " ".join(RECOVERY_MARK.get(how, "?")
                        for how in haproxy.get("recovery_sequence", []))
    late = _count(haproxy.get("failed_after_recovery_max", float("nan")))
    planned: dict[str, Any] = next((r for r in summary["rows"] if r["key"] == "planned"), {})
    lost: dict[str, Any] = next((r for r in summary["rows"] if r["key"] == "node_loss"), {})
    print_table(
        "Takeover of an ACTIVE_STANDBY pair: a new connection every 10 ms, open loop, 1 s each",
        [Column("what", "left"), Column("reps"), Column("failed p50"), Column("failed max"),
         Column("outage p50 s"), Column("outage max s"),
         Column(f"÷ raw {OCTAVIA_ADVERT_S:g} s"), Column(f"÷ raw {LBAAS_ADVERT_S:g} s"),
         Column("goal", "left")],
        rows, console=console, row_styles=styles,
        caption=(f"Outage: first failed attempt to the first successful one after it (0 when "
                 f"none failed). Quoted: raw keepalived measured earlier on this machine. "
                 f"÷ raw: lbaas's outage p50 ÷ the raw keepalived pair's (same "
                 f"run) at advert 1 s (Octavia's) and {LBAAS_ADVERT_S:g} s (lbaas's default, "
                 f"which lbaas runs with). The BACKUP's keepalived said MASTER (p50, after the "
                 f"fault): node loss {fmt(lost.get('backup_master_p50_s'))} s, haproxy death "
                 f"{fmt(haproxy.get('backup_master_p50_s'))} s (when it moved), planned "
                 f"failover {fmt(planned.get('backup_master_p50_s'))} s after the PUT. haproxy "
                 f"death, which recovery came first each time (I: the agent restarted it in "
                 f"place, p50 {fmt(haproxy.get('haproxy_back_p50_s'))} s, and the VIP stayed; "
                 f"M: restarted in place, then the VIP moved all the same; O: the other copy "
                 f"took over first): {sequence or '—'} ({by_recovery or '—'}; failed after "
                 f"traffic came back, max {late}). {load}."))

    red = summary["redundancy"]
    print_table(
        "Redundancy restored after the MASTER's node is lost (seconds after the loss)",
        [Column("what", "left"), Column("reps"), Column("p50 s"), Column("max s"),
         Column(f"goal p50 < {GOAL_REDUNDANCY_P50_S:g} s", "left")],
        [
            [escape("Octavia: back to ACTIVE after an amphora failure [quoted]"), "",
             f"{OCTAVIA_ACTIVE_AGAIN_S[0]:g}-{OCTAVIA_ACTIVE_AGAIN_S[1]:g}", "", ""],
            ["agent seen dead by the API", str(red["n"]), fmt(red["dead_seen_p50_s"]),
             fmt(red["dead_seen_max_s"]), ""],
            ["replacement copy ALLOCATED on the third node", str(red["n"]),
             fmt(red["replacement_allocated_p50_s"]), fmt(red["replacement_allocated_max_s"]),
             ""],
            ["pair whole again: 2 copies ALLOCATED on live nodes, ACTIVE/ONLINE",
             str(red["n"]), fmt(red["restored_p50_s"]), fmt(red["restored_max_s"]),
             goal(red["goal_met"])],
        ], console=console, row_styles=[quoted_style, None, None, None],
        caption=(f"Octavia's ~{sum(OCTAVIA_ACTIVE_AGAIN_S) / 2:g} s ÷ our p50: "
                 f"{fmt(red['vs_octavia'])}x. Failed attempts after the takeover until the pair "
                 f"was whole (max of the reps): {red['failed_after_takeover_max']}; while the "
                 f"lost node came back (max): {red['failed_while_returning_max']}; come back → "
                 f"settled p50 {fmt(red['come_back_p50_s'])} s."))

    mem = summary["memory"]
    if mem:
        labels = {"single": "SINGLE load balancer (haproxy)",
                  "pair_copy": "ACTIVE_STANDBY, one copy on one node (haproxy + keepalived)",
                  "pair": "ACTIVE_STANDBY, whole pair (two nodes)"}
        print_table(
            "Memory per load balancer (MiB)",
            [Column("what", "left"), Column("n"), Column("haproxy USS"),
             Column("keepalived USS"), Column("kernel per namespace"), Column("total"),
             Column("÷ SINGLE")],
            [[labels[k], str(v["n"]), _mib(v["haproxy_uss_kb"]), _mib(v["keepalived_uss_kb"]),
              _mib(v["kernel_kb"]), _mib(v["total_kb"]), fmt(v["vs_single"])]
             for k, v in mem.items()], console=console,
            caption=("USS from smaps_rollup (haproxy master + workers; keepalived parent + VRRP "
                     "child). Kernel: the host's growth of Slab + PageTables + KernelStack while "
                     "they were created, per namespace (host-wide, so only indicative)."))
    for error in measured_.get("errors", []):
        console.print(f"[red]error:[/red] {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.takeover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="2 repetitions of each fault, 2 load balancers of each kind for "
                             "memory (CI smoke)")
    parser.add_argument("--reps", type=int, help="repetitions of each fault (default 20)")
    parser.add_argument("--memory-count", type=int,
                        help="load balancers of each topology for memory (default 5)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    if args.reps:
        params = dataclasses.replace(params, reps=args.reps)
    if args.memory_count:
        params = dataclasses.replace(params, memory_count=args.memory_count)
    started = time.monotonic()
    with sigterm_exits():
        measured_ = measure(params)
    summary = summarize(measured_, params)
    print_summary(summary, measured_, params)
    finish(started, args.json, params, {
        **summary, "anchors": {"raw_keepalived_quoted": RAW_QUOTED,
                               "octavia_active_again_s": list(OCTAVIA_ACTIVE_AGAIN_S)},
        "reps": {"raw": measured_.get("raw", {}), **measured_.get("lbaas", {})},
        "errors": measured_["errors"], "lab_timings": measured_.get("lab_timings", {}),
        "load": {"start": measured_["load_start"], "end": measured_.get("load_end")},
    })
    return 1 if measured_["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
