"""The access log benchmark (bench/access_log.py) runs end to end in its --quick mode and prints
its table.

Real haproxy, nginx and wrk in network namespaces (root needed); only that the benchmark runs,
reports both variants with numbers, that the logged listener really wrote lines, and that it
cleans up: timing thresholds do not belong in tests.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from bench import access_log, lab
from tests.netlab import skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e,
              skip_unless_root_and_tools("ip", "haproxy", "nsenter", "nginx", "wrk")]


def test_access_log_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    assert access_log.main(["--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    mine = [d for d in Path(tempfile.gettempdir()).glob(f"{lab.TMP_PREFIX}*")
            if (d / "owner.pid").is_file() and (d / "owner.pid").read_text() == str(os.getpid())]
    assert not mine, f"the benchmark left {mine} behind"
    assert "Access logs" in printed and "on ÷ off" in printed
    result = json.loads(out.read_text())
    assert [r["variant"] for r in result["rows"]] == list(access_log.VARIANTS)
    assert all(r["rps_on"] > 0 and r["rps_off"] > 0 for r in result["rows"])
    assert result["logged_requests"] > 0
    # haproxy also logs the requests wrk leaves in flight when a run ends (one per connection
    # at most), which wrk does not count as done; the warm-up's own last ones may land late.
    in_flight = (access_log.QUICK.connections * len(access_log.VARIANTS) * access_log.QUICK.repeats
                 + access_log.WARM_UP_CONNECTIONS)
    assert 0 < result["lines_written"] <= result["logged_requests"] + in_flight
    assert result["agent_us_per_line"] > 0


def test_socat_sink_takes_the_agents_place(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert access_log.main(["--quick", "--sink", "socat", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert all(r["rps_on"] > 0 and r["rps_off"] > 0 and r["errors"] == 0
               for r in result["rows"])
    assert result["lines_written"] == 0 and result["logged_requests"] > 0
