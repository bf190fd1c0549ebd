"""The API benchmark runs end to end (real server subprocess, SQLite, --quick counts).

Only that it runs and reports every operation: timing thresholds do not belong in tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import api as bench_api


def test_bench_api_quick_sqlite_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    status = bench_api.main(["--quick", "--db", "sqlite", "--json", str(out)])
    assert status == 0
    result = json.loads(out.read_text())["databases"]["sqlite"]
    assert result["error"] is None
    rows = result["rows"]
    assert {row["operation"] for row in rows} == set(bench_api.OPERATIONS)
    for operation in bench_api.OPERATIONS:
        for clients in (1, bench_api.MAX_CLIENTS):
            measured = [r for r in rows if r["operation"] == operation
                        and r["clients"] == clients]
            assert measured, f"no row for {operation} with {clients} clients"
            assert all(r["n"] > 0 and r["errors"] == 0 for r in measured)
    levels = bench_api.QUICK.levels
    assert {r["lbs"] for r in rows if r["operation"] == "list"} == {str(n) for n in levels}
