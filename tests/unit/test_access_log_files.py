"""Per load balancer access log files: modes, rotation, pruning (:mod:`.files`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lbaas.agent.access_logs.files import AccessLogFiles


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_lines_go_to_the_load_balancers_private_file(tmp_path: Path) -> None:
    files = AccessLogFiles(tmp_path / "logs", 1 << 20, 2, 60)
    files.write("lb-1", '{"a":1}')
    files.write("lb-2", '{"b":2}')
    files.write("lb-1", '{"a":2}')
    files.close()
    assert files.path("lb-1").read_text() == '{"a":1}\n{"a":2}\n'
    assert files.path("lb-2").read_text() == '{"b":2}\n'
    assert mode(tmp_path / "logs") == 0o700
    assert mode(tmp_path / "logs" / "lb-1") == 0o700
    assert mode(files.path("lb-1")) == 0o600


def test_rotation_keeps_backup_count_files_under_the_cap(tmp_path: Path) -> None:
    files = AccessLogFiles(tmp_path, 4096, 2, 60)
    line = "x" * 999
    for _ in range(30):
        files.write("lb-1", line)
    files.close()
    names = sorted(entry.name for entry in (tmp_path / "lb-1").iterdir())
    assert names == ["access.log", "access.log.1", "access.log.2"]
    for name in names:
        path = tmp_path / "lb-1" / name
        assert path.stat().st_size <= 4096
        assert mode(path) == 0o600


def test_no_backups_truncates(tmp_path: Path) -> None:
    files = AccessLogFiles(tmp_path, 4096, 0, 60)
    for number in range(30):
        files.write("lb-1", f"{number:03d}" + "x" * 996)
    files.close()
    assert [entry.name for entry in (tmp_path / "lb-1").iterdir()] == ["access.log"]
    text = files.path("lb-1").read_text()
    assert len(text) <= 4096 and text.startswith("02") and text.endswith("x\n")


def test_many_load_balancers_close_old_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("lbaas.agent.access_logs.files.MAX_OPEN", 3)
    files = AccessLogFiles(tmp_path, 1 << 20, 1, 60)
    for round_ in range(2):
        for number in range(5):
            files.write(f"lb-{number}", f"line {round_}")
    assert len(files._open) == 3
    files.close()
    assert files.path("lb-0").read_text() == "line 0\nline 1\n"


def test_prune_removes_deleted_load_balancers_after_the_delay(tmp_path: Path) -> None:
    files = AccessLogFiles(tmp_path, 1 << 20, 1, 600)
    for lb_id in ("kept", "recent", "old"):
        files.write(lb_id, "{}")
    old = files.path("old").stat().st_mtime - 1000
    os.utime(files.path("old"), (old, old))
    now = files.path("recent").stat().st_mtime + 1
    assert files.prune(["kept"], now=lambda: now) == ["old"]
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["kept", "recent"]
    files.write("recent", "{}")  # still writable after another's prune
    assert sorted(files.prune([], now=lambda: now + 10_000)) == ["kept", "recent"]
    assert list(tmp_path.iterdir()) == []
