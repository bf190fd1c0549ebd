"""Numbers and cells for the data-plane benchmarks' result tables: the median of repeated runs,
p50/p99 (NaN when nothing was measured), ratios against a baseline (NaN when there is none), the
goal column, the "where the time goes" table of the agent's steps, and a console wide enough for
the tables also when the output goes to a file or a pipe (tables are
``bench.common.print_table``).

Used by ``bench.dataplane``, ``bench.provisioning``, ``bench.member_update``, ``bench.reload``
and ``bench.density``.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from bench.common import Column, fmt, percentile, print_table


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def p50_p99(values: Sequence[float]) -> tuple[float, float]:
    """The 50th and 99th percentiles of ``values``; NaN for both when there are none."""
    if not values:
        return float("nan"), float("nan")
    return percentile(values, 50), percentile(values, 99)


def ratio(value: float, baseline: float) -> float:
    if not baseline or baseline != baseline or value != value:
        return float("nan")
    return value / baseline


def goal(met: bool | None) -> str:
    if met is None:
        return "[yellow]n/a[/yellow]"
    return "[green]met[/green]" if met else "[red]not met[/red]"


def wide_console() -> Any:
    """A rich console wide enough for the result tables also when output is not a terminal."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(width=int(os.environ.get("COLUMNS", "0") or 0) or 150)


def print_steps(title: str, since: str, steps: Sequence[Mapping[str, Any]], console: Any) -> None:
    """The "where the time goes" table: per step, how many load balancers it was seen for, p50
    and p99 of its duration and the p50 of when it ended after ``since`` (all in ms)."""
    print_table(title,
                [Column("step", "left"), Column("n"), Column("p50 ms"), Column("p99 ms"),
                 Column(f"ends at (p50 ms after {since})")],
                [[s["step"], str(s["n"]), fmt(s["p50_ms"]), fmt(s["p99_ms"]),
                  fmt(s["ends_at_p50_ms"])] for s in steps], console=console,
                caption="Marks taken by wrapping product functions in this process.")
