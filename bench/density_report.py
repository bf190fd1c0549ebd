"""The tables of ``bench.density``: what was held, answering and created, memory per load balancer
against the hand-written haproxy, idle CPU, the resync of a restarted agent against a bare check
loop, and where that resync's time goes per load balancer; judged against the (informational)
goals below.

Called by ``bench.density.main`` with the result of ``bench.density.measure``.
"""

from __future__ import annotations

from typing import Any

from bench.common import Column, fmt, percentile, print_table
from bench.report import goal, ratio, wide_console

GOAL_COUNT = 1000
GOAL_RESYNC_S = 30.0
GOAL_IDLE_PCT = 5.0  # API + agent with every load balancer idle, syncs included


def _sync_rows(cost: dict[str, Any]) -> list[list[str]]:
    """The periodic sync of unchanged load balancers: one light sync against one full one (the
    baseline: what every sync did before revisions), and their cost to a core at the resync
    interval, a full one every ``full_every`` syncs."""
    interval, every = cost["interval_s"], cost["full_every"]
    amortized = sync_share(cost) * interval / 100
    return [
        ["periodic sync, nothing changed: light (revisions), CPU per sync",
         f"{cost['light'] * 1000:.0f} ms", f"full {cost['full'] * 1000:.0f} ms",
         fmt(ratio(cost["light"], cost["full"])), ""],
        [f"… its share of a core at {interval:.0f} s, full every {every}",
         f"{amortized / interval * 100:.2f} %",
         f"every sync full {cost['full'] / interval * 100:.2f} %",
         fmt(ratio(amortized, cost["full"])), ""],
    ]


def sync_share(cost: dict[str, Any]) -> float:
    """The periodic syncs' average share of a core (%): a full one every ``full_every``."""
    every = cost["full_every"]
    return (cost["full"] + (every - 1) * cost["light"]) / every / cost["interval_s"] * 100


def _idle_rows(idle: dict[str, Any], cost: dict[str, Any]) -> list[list[str]]:
    """Idle CPU of the API + agent process, stats paced against every load balancer read every
    pass (the baseline: every pass before pacing), then with the syncs' average added (the
    windows hold no full sync); and the haproxies'."""
    paced, every = idle["paced"]["self_pct"], idle["every_pass"]["self_pct"]
    syncs = sync_share(cost)
    total, every_total = paced + syncs, every + syncs
    return [
        [f"idle CPU: API + agent, stats paced (quiet LBs read every "
         f"{idle['idle_interval_s']:.0f} s; {idle['at_rest']:,} at rest)",
         f"{paced:.1f} % of a core", f"every LB every pass {every:.1f} %",
         fmt(ratio(paced, every)), ""],
        ["… with the periodic syncs' average (light, full every "
         f"{cost['full_every']})", f"{total:.1f} % of a core",
         f"every pass {every_total:.1f} %", fmt(ratio(total, every_total)),
         goal(total < GOAL_IDLE_PCT)],
        ["idle CPU: all haproxies (paced; every pass)",
         f"{idle['paced']['haproxy_pct']:.1f} % of a core",
         f"{idle['every_pass']['haproxy_pct']:.1f} %", "", ""],
    ]


def print_result(result: dict[str, Any]) -> None:
    """Print both tables and the notes on failed creates or an exhausted --timeout."""
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
        *_idle_rows(result["idle_cpu"], result["sync_cost"]),
        *_sync_rows(result["sync_cost"]),
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
                 f"pass of the fresh agent (its first readings: every LB read, show proc + "
                 f"show stat, 5 ms apart, at most every 1 s) takes "
                 f"{resync['stats_pass_s']:.2f} s."))
    if create["post_error_count"]:
        print(f"  {create['post_error_count']} creates failed, e.g. {create['post_errors'][0]}")
    if create["timed_out"]:
        print("  the creation phase ran out of its time budget (--timeout)")
