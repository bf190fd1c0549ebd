"""The results of ``bench.tls``: one measured run (:class:`Sample`), the rows of medians and
ratios to the hand-written haproxy (:func:`summarize`) and the result table (:func:`print_rows`).

Used by ``bench.tls`` only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from bench.common import Column, fmt, print_table
from bench.report import goal, median, ratio, wide_console

GOAL_RATIO = 0.95
GOAL_VARIANTS = ("keep-alive", "full handshake")
"""The variants the issue's goal speaks of: keep-alive requests/s and new handshakes/s."""
BASELINE = "hand-written haproxy"


@dataclasses.dataclass
class Sample:
    """One run against one target: requests (or connections, each one handshake and one request)
    per second, latency when the client reports it (wrk), failures, the haproxy's CPU per
    request and its TLS counters over the run."""

    rate: float
    requests: int
    errors: int
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    cpu_us_per_request: float = float("nan")
    full_handshakes: int = 0
    resumed_handshakes: int = 0
    failed_handshakes: int = 0

    @property
    def resumed_share(self) -> float:
        total = self.full_handshakes + self.resumed_handshakes
        return self.resumed_handshakes / total if total else float("nan")


def summarize(samples: dict[tuple[str, str], list[Sample]], variants: Sequence[str],
              targets: Sequence[str]) -> list[dict[str, Any]]:
    """One row per variant and target: medians of its runs, ratios to the baseline's medians."""
    rows: list[dict[str, Any]] = []
    for variant in variants:
        base = samples.get((variant, BASELINE), [])
        base_rate = median([s.rate for s in base])
        base_cpu = median([s.cpu_us_per_request for s in base])
        for target in targets:
            runs = samples.get((variant, target), [])
            if not runs:
                continue
            rate = median([s.rate for s in runs])
            cpu = median([s.cpu_us_per_request for s in runs])
            rate_ratio = ratio(rate, base_rate)
            # each repeat measured both targets one after the other: their ratio, per repeat
            paired = [ratio(s.rate, b.rate) for s, b in zip(runs, base, strict=False)]
            judged = target != BASELINE and variant in GOAL_VARIANTS
            rows.append({
                "variant": variant, "target": target, "runs": len(runs),
                "rate": rate, "rate_all": [round(s.rate) for s in runs],
                "p50_ms": median([s.p50_ms for s in runs]),
                "p99_ms": median([s.p99_ms for s in runs]),
                "errors": sum(s.errors for s in runs),
                "failed_handshakes": sum(s.failed_handshakes for s in runs),
                "full_handshakes": sum(s.full_handshakes for s in runs),
                "resumed_handshakes": sum(s.resumed_handshakes for s in runs),
                "resumed_pct": 100 * median([s.resumed_share for s in runs]),
                "cpu_us_per_request": cpu,
                "rate_vs_hand": rate_ratio, "rate_vs_hand_paired": median(paired),
                "cpu_vs_hand": ratio(cpu, base_cpu),
                "goal_met": (rate_ratio >= GOAL_RATIO) if judged else None,
                "judged": judged,
            })
    return rows


def print_rows(rows: list[dict[str, Any]], params: Any) -> None:
    columns = [Column("variant", "left"), Column("target", "left"), Column("runs"),
               Column("req/s (median)"), Column("p50 ms"), Column("p99 ms"), Column("errors"),
               Column("resumed %"), Column("server CPU µs/req"), Column("req/s ÷ hand"),
               Column("paired ÷ hand"), Column("CPU/req ÷ hand"),
               Column(f"goal ≥ {GOAL_RATIO}", "left")]
    cells = [[r["variant"], r["target"], str(r["runs"]), fmt(r["rate"]), fmt(r["p50_ms"]),
              fmt(r["p99_ms"]), str(r["errors"]), fmt(r["resumed_pct"], 1),
              fmt(r["cpu_us_per_request"]), fmt(r["rate_vs_hand"]),
              fmt(r["rate_vs_hand_paired"]), fmt(r["cpu_vs_hand"]),
              goal(r["goal_met"]) if r["judged"] else ""] for r in rows]
    key = "RSA 2048" if params.rsa else "ECDSA P-256"
    print_table(
        f"TLS termination ({key}): through the load balancer vs hand-written haproxy",
        columns, cells, console=wide_console(),
        caption=(f"keep-alive: wrk -t{params.threads} -c{params.connections}; resumed "
                 "handshake: the same with 'Connection: close' (wrk resumes the TLS session of "
                 "each reconnection); full handshake: "
                 f"{params.handshake_clients} processes of openssl s_time -new (no "
                 "resumption), one request per connection. "
                 f"{params.duration:g} s per run, {params.repeats} run(s) per cell, targets "
                 "interleaved, medians. resumed %: handshakes the haproxy resumed (its "
                 "ssl_reused_sess ÷ all). Server CPU: user+system time of the haproxy "
                 "master+workers per request. paired: the median over repeats of the ratio of "
                 "the two runs of one repeat (less moved by drift of the machine's load). "
                 "errors: failed requests (wrk) or s_time processes that failed. Ratios "
                 "against the hand-written haproxy of the same run; the goal (keep-alive and "
                 "full handshakes) is informational."))
