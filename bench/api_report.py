"""The API benchmark's output: per database a rich table (Octavia's quoted rows first, dimmed,
then every measured row with its ratios and goal; with ``--octavia`` the real Octavia's own table
instead, and the ratios against it), its notes and errors, and the ``--json`` document with the
profile, the reference and every row.

Used by ``bench.api`` after all databases (and Octavia) have run.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bench.api_results import (
    GOAL,
    GOAL_RULE,
    GOAL_RULE_MEASURED,
    OCTAVIA,
    OCTAVIA_SETUP,
    DatabaseResult,
    Profile,
    Row,
)
from bench.common import Column, fmt, print_table

COLUMNS = [Column("operation", "left"), Column("LBs"), Column("clients"), Column("n"),
           Column("p50 ms"), Column("p99 ms"), Column("req/s"), Column("octavia p50 ms"),
           Column("octavia req/s"), Column("speed-up vs octavia (x)"),
           Column("req/s vs octavia (x)"), Column("p50 vs floor (x)"), Column("server CPU ms/req"),
           Column("goal met (>=10x)", "center")]
TABLE_WIDTH = 180


def quoted_rows(database: str) -> list[Row]:
    """Octavia's quoted numbers as reference rows (flagged ``quoted``)."""
    return [Row(database, f"{ref.operation} [octavia, quoted]",
                str(ref.lbs) if ref.lbs is not None else "?", 1, 0, ref.p50_ms, math.nan,
                ref.rps if ref.rps is not None else math.nan, quoted=True)
            for ref in OCTAVIA.values()]


def _cells(row: Row) -> list[str]:
    if row.quoted:
        return [row.operation, row.lbs, "?", "—", fmt(row.p50_ms), "—", fmt(row.rps), "", "",
                "", "", "", "", ""]
    goal = {None: "—", True: "[green]yes[/green]", False: "[red]no[/red]"}[row.goal_met]
    operation = "healthcheck (floor)" if row.operation == "healthcheck" else row.operation
    return [operation, row.lbs, str(row.clients), str(row.n), fmt(row.p50_ms), fmt(row.p99_ms),
            fmt(row.rps), fmt(row.octavia_p50_ms), fmt(row.octavia_rps), fmt(row.speedup),
            fmt(row.rps_ratio), fmt(row.vs_floor), fmt(row.server_cpu_ms), goal]


def _caption(result: DatabaseResult, octavia_setup: str | None) -> str:
    floor = "p50 vs floor = p50 / healthcheck p50 with the same clients; "
    if result.setup is not None:
        return (f"The real Octavia, measured now ({result.setup}): the reference of the other "
                f"tables. {floor}server CPU = the API's processes (gunicorn's arbiter and "
                "workers) / requests; octavia-worker, which completes the creates, is not in "
                "it (see the notes).")
    if octavia_setup is not None:
        return (f"octavia columns: {octavia_setup}, measured in this run (the same series). "
                "speed-up = octavia p50 / ours p50; req/s vs octavia = ours / Octavia's with "
                f"the same clients; {floor}server CPU = the server process's CPU time / "
                "requests (includes the noop provider's background work for creates). "
                + GOAL_RULE_MEASURED)
    return (f"Reference rows are quoted ({OCTAVIA_SETUP}); every other row is measured now. "
            f"speed-up = octavia p50 / ours p50; {floor}server CPU = the server process's "
            "CPU time / requests (includes the noop provider's background work for creates). "
            + GOAL_RULE)


def print_result(result: DatabaseResult, console: Console, profile: Profile,
                 workers: int | None, octavia_setup: str | None = None) -> None:
    """The table of one server, then its notes and errors. ``octavia_setup`` names the real
    Octavia measured in this run (``--octavia``): the rows carry the ratios against it; when it
    is None, Octavia's quoted rows come first, dimmed. Octavia's own table (``result.setup``
    set) has neither."""
    quoted = [] if octavia_setup is not None or result.setup is not None else \
        quoted_rows(result.database)
    rows = [*quoted, *result.rows]
    styles = ["dim italic" if r.quoted else None for r in rows]
    requested = f" (--workers {workers})" if workers is not None and not result.setup else ""
    title = (f"bench/api — {result.setup or result.database} — server processes: "
             f"{result.server_processes or '?'}{requested} — levels "
             f"{', '.join(map(str, profile.levels))} LBs")
    print_table(title, COLUMNS, [_cells(r) for r in rows], console,
                _caption(result, octavia_setup), styles)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if result.error:
        console.print(f"[red]error:[/red] {escape(result.error)}")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path, results: list[DatabaseResult], profile: Profile,
               octavia_setup: str | None = None) -> None:
    """Machine-readable results (for other tools and the smoke test). With ``--octavia`` the
    real Octavia's rows are under ``databases.octavia`` and ``octavia_measured`` names it."""
    doc = {"profile": asdict(profile), "goal": GOAL,
           "octavia_reference": {k: asdict(v) for k, v in OCTAVIA.items()},
           "octavia_measured": octavia_setup,
           "databases": {r.database: {"rows": [asdict(row) for row in r.rows],
                                      "notes": r.notes, "error": r.error, "setup": r.setup}
                         for r in results}}
    path.write_text(json.dumps(_json_safe(doc), indent=2, allow_nan=False, default=str))
