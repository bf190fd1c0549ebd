"""The takeover benchmark (``bench.takeover``) runs end to end in its --quick mode: the raw
keepalived pair and an lbaas pair on three nodes take each fault twice, memory is read for two
load balancers of each topology, every table row is printed and the JSON has the expected shape
(the node lab and the raw pair's lab check on their way out that they left nothing behind). Only
that it runs and reports everything: timing thresholds and goals do not belong in tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import takeover
from tests.netlab import skip_unless_root_and_tools
from tests.nodelab import cgroups, rabbitmq

pytestmark = [
    pytest.mark.e2e,
    skip_unless_root_and_tools("ip", "haproxy", "keepalived", "socat", "nsenter", "unshare",
                               "epmd"),
    pytest.mark.skipif(not rabbitmq.installed(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not cgroups.available(), reason="no cgroup2 hierarchy"),
]

ROW_KEYS = ["raw_link_octavia", "raw_link_lbaas", "raw_sigterm_octavia", "raw_sigterm_lbaas",
            "node_loss", "haproxy_death", "planned"]
REP_FIELDS = {"failed", "attempts", "outage_s", "errors", "failures", "rep_s"}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


def test_takeover_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # table cells unwrapped: one label, one line
    out = tmp_path / "takeover.json"
    assert takeover.main(["--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for title in ("Takeover of an ACTIVE_STANDBY pair", "Redundancy restored",
                  "Memory per load balancer"):
        assert title in printed
    for label in (*takeover.ROW_LABELS.values(), "agent seen dead", "pair whole again",
                  "SINGLE load balancer", "whole pair"):
        assert label.format(a=f"{takeover.LBAAS_ADVERT_S:g}") in printed, label

    result = json.loads(out.read_text())
    assert result["errors"] == []
    reps = result["params"]["reps"]
    assert reps == takeover.QUICK.reps
    rows = {row["key"]: row for row in result["rows"]}
    assert list(rows) == ROW_KEYS
    for key, row in rows.items():
        assert row["n"] == reps and row["complete"], key
        for field in ("failed_p50", "failed_max", "outage_p50_s", "outage_max_s"):
            assert _number(row[field]), (key, field)
    for key in ("node_loss", "haproxy_death", "planned"):
        assert {"vs_raw_octavia", "vs_raw_lbaas", "goal", "goal_met"} <= set(rows[key])
    assert len(rows["haproxy_death"]["recovery_sequence"]) == reps
    assert set(rows["haproxy_death"]["recovery_sequence"]) <= set(takeover.RECOVERY_MARK)

    redundancy = result["redundancy"]
    assert redundancy["n"] == reps
    for field in ("dead_seen_p50_s", "replacement_allocated_p50_s", "restored_p50_s",
                  "restored_max_s"):
        assert _number(redundancy[field]) and redundancy[field] > 0, field

    memory = result["memory"]
    assert set(memory) == {"single", "pair_copy", "pair"}
    assert memory["single"]["n"] == memory["pair"]["n"] == takeover.QUICK.memory_count
    assert memory["pair_copy"]["n"] == 2 * takeover.QUICK.memory_count
    for kind in memory.values():
        assert kind["haproxy_uss_kb"] > 0 and _number(kind["total_kb"])
    assert memory["pair_copy"]["keepalived_uss_kb"] > 0

    raw = result["reps"]["raw"]
    assert len(raw) == 2 * len(result["params"]["raw_adverts"])
    for series in [*raw.values(), *(result["reps"][k] for k in
                                    ("node_loss", "haproxy_death", "planned"))]:
        assert len(series) == reps
        assert all(set(rep) >= REP_FIELDS for rep in series)
    for rep in result["reps"]["node_loss"]:
        assert rep["lost"] != rep["taken_over_by"] and rep["redundancy_restored_s"] > 0
