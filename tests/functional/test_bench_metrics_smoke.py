"""The metrics scrape benchmark runs end to end with a few real haproxies (--quick): every
setting scrapes every load balancer, and their series are there. Timing thresholds do not
belong in tests."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bench import metrics_scrape


@pytest.mark.skipif(shutil.which("haproxy") is None or os.geteuid() != 0,
                    reason="needs haproxy and root")
def test_bench_metrics_scrape_quick_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert metrics_scrape.main(["--quick", "--count", "3", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["count"] == 3
    assert [run["threads"] for run in result["runs"]] == list(metrics_scrape.THREADS)
    for run in result["runs"]:
        assert run["up"] == 3
        assert len(run["times"]) == metrics_scrape.QUICK.rounds
        # per load balancer: its info and up, plus HAProxy's series of 1 listener, 1 pool,
        # 2 members (well over a hundred with the kept metrics)
        assert run["series"] > 3 * 100
    assert result["floor"]["bytes"] > 0
