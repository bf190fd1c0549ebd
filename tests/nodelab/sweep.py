"""What a node lab leaves for the next one if it is killed with SIGKILL, and the sweep of it.

Each lab keeps a run directory ``/run/lbaas-nodelab/<tag>/`` (the private bind mount holding its
nodes' mount-namespace pins, see :mod:`tests.nodelab.mountns`) with a ``lab.json``: the owner
process (pid and start time), its work directory, its database and, if the lab started it, the
PostgreSQL server's directory. :func:`sweep_dead_labs` undoes every lab whose owner is gone: kills
its cgroup (agents, haproxies, servers, broker, epmd), releases its nodes' mount namespaces (and
the namespaces inside), deletes its namespaces and links (``lbt<tag>*``) with the processes in
them, stops the PostgreSQL server it started, and removes its directories. Labs whose owner lives
are left alone.

Used by :class:`tests.nodelab.lab.NodeLab` at start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from lbaas.drivers.interface.namespaces import list_namespaces
from tests.netlab import PREFIX, sweep
from tests.nodelab import cgroups, mountns
from tests.nodelab.procs import process_start_time

LOG = logging.getLogger(__name__)

RUN_ROOT = Path("/run/lbaas-nodelab")
STATE_FILE = "lab.json"
GRACE = 60.0
"""Seconds a run dir without a state file is left alone (a lab being created writes it first
thing, but another may look in between)."""


def owner_record() -> dict[str, int]:
    """This process as an owner (pid and start time, so a reused pid is not mistaken)."""
    pid = os.getpid()
    return {"pid": pid, "start_time": process_start_time(pid) or 0}


def owner_alive(record: dict[str, Any]) -> bool:
    try:
        pid, start = int(record["pid"]), int(record["start_time"])
    except (KeyError, TypeError, ValueError):
        return False
    return process_start_time(pid) == start


def write_state(run_dir: Path, state: dict[str, Any]) -> None:
    (run_dir / STATE_FILE).write_text(json.dumps(state))


def read_state(run_dir: Path) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads((run_dir / STATE_FILE).read_text())
        return found
    except (OSError, ValueError):
        return {}


def _kill_namespace_processes(name: str) -> None:
    done = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                          check=False)
    for pid in done.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def sweep_lab(tag: str, state: dict[str, Any]) -> list[str]:
    """Undo what the lab ``tag`` left (see the module docstring). Returns what was removed."""
    removed: list[str] = []
    group = cgroups.lab_group(tag)
    if group.exists():
        group.remove()
        removed.append(str(group.path))
    run_dir = RUN_ROOT / tag
    if run_dir.is_dir():
        for pin in sorted(run_dir.glob("*.mnt")):
            mountns.release(pin)
            removed.append(str(pin))
        mountns.release_run_dir(run_dir)
        removed.append(str(run_dir))
    prefix = PREFIX + tag
    for name in list_namespaces():
        if name.startswith(prefix):
            _kill_namespace_processes(name)
    removed += sweep(prefix)
    pg_base = state.get("postgres_base")
    if pg_base and Path(pg_base, "data").is_dir():
        subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl",
                        "-D", f"{pg_base}/data", "-m", "immediate", "-w", "stop"],
                       capture_output=True, check=False, timeout=60)
        shutil.rmtree(pg_base, ignore_errors=True)
        removed.append(pg_base)
    workdir = state.get("workdir")
    if workdir and Path(workdir).is_dir() and not state.get("keep_workdir"):
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def sweep_dead_labs() -> list[str]:
    """Sweep every lab whose owner process is gone (also lab cgroups without a run dir)."""
    removed: list[str] = []
    tags: dict[str, dict[str, Any]] = {}
    if RUN_ROOT.is_dir():
        for run_dir in RUN_ROOT.iterdir():
            state = read_state(run_dir)
            with contextlib.suppress(OSError):
                if not state and time.time() - run_dir.stat().st_mtime < GRACE:
                    continue
            if not owner_alive(state.get("owner", {})):
                tags[run_dir.name] = state
    for tag in cgroups.lab_groups() if cgroups.available() else {}:
        if tag not in tags and not (RUN_ROOT / tag).exists():
            tags[tag] = {}
    for tag, state in tags.items():
        try:
            removed += sweep_lab(tag, state)
        except Exception:  # one broken leftover must not keep the others
            LOG.exception("sweeping node lab %s failed", tag)
    with contextlib.suppress(OSError):
        RUN_ROOT.rmdir()  # only when no lab uses it
    if removed:
        LOG.warning("swept leftovers of killed node labs: %s", removed)
    return removed
