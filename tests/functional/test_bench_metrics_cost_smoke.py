"""The metrics scraping cost benchmark (bench/metrics_cost.py) runs end to end in its --quick mode
and prints its table.

Real haproxy, nginx, wrk and the agent's metrics services in network namespaces (root needed);
only that the benchmark runs, reports both scrapers in both variants with numbers, that the
scrapers really got their series meanwhile (none failed), and that it cleans up: timing
thresholds do not belong in tests.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from bench import lab, metrics_cost
from tests.netlab import skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e,
              skip_unless_root_and_tools("ip", "haproxy", "nsenter", "nginx", "wrk")]


def test_metrics_cost_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    assert metrics_cost.main(["--quick", "--json", str(out)]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    # A scraper stopped between runs ends its scrape first: no server writes to a closed socket.
    assert "Traceback" not in captured.err
    mine = lab.own_workdirs()
    assert not mine, f"the benchmark left {mine} behind"
    assert not list(Path(tempfile.gettempdir()).glob(f"{metrics_cost.TOKEN_DIR_PREFIX}*"))
    assert "Metrics scraping" in printed and "operator" in printed and "tenant" in printed
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [(r["variant"], r["side"]) for r in rows] == [
        (variant, side) for variant in metrics_cost.VARIANTS for side in metrics_cost.SIDES[1:]]
    assert all(r["rps_scraped"] > 0 and r["rps_not"] > 0 for r in rows)
    # Every scrape answered with its series (metrics_cost.EXPECTED: the agent's own for the
    # operator, Octavia's names through the load balancer for the tenant), none failed.
    assert all(r["scrapes"] > 0 and r["scrape_failures"] == 0 for r in rows)
    assert [r["side"] for r in result["idle"]] == list(metrics_cost.SIDES[1:])
    assert all(r["scrapes"] > 0 and r["failures"] == 0 for r in result["idle"])
