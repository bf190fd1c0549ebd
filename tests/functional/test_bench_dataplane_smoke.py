"""The data-plane benchmarks run end to end in their --quick mode and print their tables.

Real haproxy, nginx and wrk in network namespaces (root needed); only that each benchmark runs,
reports every row and cleans up: timing thresholds do not belong in tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import dataplane, density, lab, member_update, provisioning, reload
from tests.netlab import skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e,
              skip_unless_root_and_tools("ip", "haproxy", "nsenter", "nginx", "wrk")]


def _run(module: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    out = tmp_path / "result.json"
    assert module.main(["--quick", "--json", str(out)]) == 0  # type: ignore[attr-defined]
    printed = capsys.readouterr().out
    # The work directory goes last, after every haproxy, namespace and process of the run.
    mine = lab.own_workdirs()
    assert not mine, f"the benchmark left {mine} behind"
    return json.loads(out.read_text()), printed


def test_dataplane_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result, printed = _run(dataplane, tmp_path, capsys)
    assert "Data plane" in printed and "req/s ÷ hand" in printed
    cells = {(r["variant"], r["target"]) for r in result["rows"]}
    assert cells == {(v, t) for v in dataplane.VARIANTS for t in dataplane.TARGETS}
    assert all(r["rps"] > 0 for r in result["rows"])


def test_provisioning_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result, printed = _run(provisioning, tmp_path, capsys)
    assert "Provisioning" in printed and "Where the time goes" in printed
    rows = result["rows"]
    assert len(rows) == 3
    assert all(r["n"] > 0 and r["answered"] == r["n"] for r in rows)


def test_member_update_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result, printed = _run(member_update, tmp_path, capsys)
    assert "Member update" in printed
    assert {(r["action"], r["n"] == r["done"]) for r in result["rows"]} == {
        ("add", True), ("remove", True)}


def test_reload_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result, printed = _run(reload, tmp_path, capsys)
    assert "Member changes under load" in printed
    rows = result["rows"]
    assert len(rows) == 3
    assert all(r["changes"] == reload.QUICK.changes and r["requests"] > 0 for r in rows)
    assert rows[0]["reloads"] == 0  # every member change went through the runtime API
    assert rows[2]["reloads"] == rows[2]["changes"]  # the by-hand baseline reloads each time


def test_density_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result, printed = _run(density, tmp_path, capsys)
    assert "Density" in printed
    assert result["held"] == density.QUICK.count
    assert result["resync"]["complete"]
    assert "periodic sync, nothing changed" in printed
    assert result["sync_cost"]["rounds"] == density.SYNC_ROUNDS
    assert result["idle_cpu"]["at_rest"] == density.QUICK.count  # every LB paced to its cap
    assert "stats paced" in printed
    assert result["namespaces_left"] == 0
