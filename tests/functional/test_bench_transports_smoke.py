"""bench.transports runs end to end in its --quick mode: both transports measured in one run,
every load balancer answered, and nothing left behind (namespaces, the private broker's Erlang
VM and epmd, its cgroup, the work directories).

Real haproxy, nginx and wrk in network namespaces and a private RabbitMQ (root needed); only
that the benchmark runs, reports every row and cleans up: timing thresholds do not belong in
tests.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from bench import lab, transports
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import list_namespaces
from tests.netlab import PREFIX, skip_unless_root_and_tools
from tests.nodelab import cgroups, rabbitmq
from tests.nodelab.procs import alive

pytestmark = [
    pytest.mark.e2e,
    skip_unless_root_and_tools("ip", "haproxy", "nsenter", "nginx", "wrk", "epmd"),
    pytest.mark.skipif(not rabbitmq.installed(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not cgroups.available(), reason="no cgroup2 hierarchy is mounted"),
]


def test_transports_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    assert transports.main(["--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "RabbitMQ vs the in-process transport" in printed
    assert "Where RabbitMQ costs time" in printed
    result = json.loads(out.read_text())

    assert set(result["transports"]) == {"fake", "rabbit"}
    assert sorted(run["transport"] for run in result["rounds"]) == ["fake", "rabbit"]
    for name, summary in result["transports"].items():
        for phase, wanted in (("sequential", transports.QUICK.count),
                              ("burst", transports.QUICK.burst)):
            got = summary[phase]
            assert got["n"] == wanted and got["answered"] == wanted, (name, phase, got)
        assert summary["burst"]["wall_s"] > 0, name
    assert set(result["ratios"]) >= {"sequential_p50_s", "burst_wall_s"}
    assert result["broker"]["start_s"] > 0

    # Nothing of the run is left: the broker's processes and group, the labs' namespaces, the
    # load balancers' namespaces, the work directories (they go last).
    assert result["broker"]["pids"], "the broker's pids were not recorded"
    assert not [pid for pid, start in result["broker"]["pids"] if alive((pid, start))]
    assert not Path(result["broker"]["cgroup"]).exists()
    names = set(list_namespaces())
    for run in result["rounds"]:
        assert not [n for n in names if n.startswith(PREFIX + run["lab_tag"])], run["lab_tag"]
        assert not names & {vip_plug.namespace_name(lb_id) for lb_id in run["lb_ids"]}
    mine = [d for d in Path(tempfile.gettempdir()).glob(f"{lab.TMP_PREFIX}*")
            if (d / "owner.pid").is_file() and (d / "owner.pid").read_text() == str(os.getpid())]
    assert not mine, f"the benchmark left {mine} behind"
