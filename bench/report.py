"""Numbers and cells for the data-plane benchmarks' result tables: the median of repeated runs,
ratios against a baseline (NaN when there is none), the goal column, and a console wide enough
for the tables also when the output goes to a file or a pipe (the tables themselves are
``bench.common.print_table``).

Used by ``bench.dataplane``, ``bench.provisioning``, ``bench.member_update``, ``bench.reload``
and ``bench.density``.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from typing import Any


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


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
