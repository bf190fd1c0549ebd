"""The node-loss benchmark (``bench.failover``) runs end to end in its --quick mode: three
nodes, a node lost, its load balancers answer again elsewhere, the table is printed and the lab
leaves nothing behind. Only that it runs and reports every row: timing thresholds do not belong
in tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import failover
from tests.netlab import skip_unless_root_and_tools
from tests.nodelab import cgroups, rabbitmq

pytestmark = [
    pytest.mark.e2e,
    skip_unless_root_and_tools("ip", "haproxy", "nsenter", "unshare", "epmd"),
    pytest.mark.skipif(not rabbitmq.installed(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not cgroups.available(), reason="no cgroup2 hierarchy"),
]


def test_failover_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "failover.json"
    assert failover.main(["--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Node loss" in printed and "answering again" in printed
    result = json.loads(out.read_text())
    summary = result["summary"]
    assert summary["victims"] >= 1
    assert summary["answered"] == summary["victims"] == summary["moved"]
    assert all(t is not None and t > 0 for t in result["answer_s"].values())
    assert len(result["fresh_s"]) == summary["victims"]
