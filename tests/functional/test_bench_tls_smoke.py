"""The TLS benchmark (bench/tls.py) runs end to end in its --quick mode and prints its table.

Real haproxy, nginx, wrk and openssl in network namespaces (root needed); only that the
benchmark runs, reports every row with numbers, measures what each row says (resumed handshakes
where it says so, none where it says full) and cleans up: timing thresholds do not belong in
tests.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from bench import lab, tls
from tests.netlab import skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e,
              skip_unless_root_and_tools("ip", "haproxy", "nsenter", "nginx", "wrk", "openssl")]


def test_tls_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    assert tls.main(["--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    mine = [d for d in Path(tempfile.gettempdir()).glob(f"{lab.TMP_PREFIX}*")
            if (d / "owner.pid").is_file() and (d / "owner.pid").read_text() == str(os.getpid())]
    assert not mine, f"the benchmark left {mine} behind"
    assert "TLS termination" in printed and "lbaas LB" in printed
    rows = json.loads(out.read_text())["rows"]
    assert {(r["variant"], r["target"]) for r in rows} == {
        (v, t) for v in tls.VARIANTS for t in tls.TARGETS}
    assert all(r["rate"] > 0 and r["errors"] == 0 for r in rows)
    by_variant = {v: [r for r in rows if r["variant"] == v] for v in tls.VARIANTS}
    assert all(r["resumed_handshakes"] > 0 for r in by_variant["resumed handshake"])
    assert all(r["resumed_handshakes"] == 0 and r["full_handshakes"] > 0
               for r in by_variant["full handshake"])
    assert all(r["rate_vs_hand"] > 0 for r in rows)
