"""What ``/proc`` says of a process: whether it runs, its command line, when it started. Shared
by the haproxy and keepalived process managers (:mod:`lbaas.drivers.haproxy.process`,
:mod:`lbaas.drivers.keepalived.process`) and the agent's log sockets
(:mod:`lbaas.agent.access_logs.receiver`, :mod:`lbaas.agent.access_logs.holder`)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True when ``pid`` runs (zombies count as dead: not every init reaps daemons promptly)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def command_line(pid: int) -> list[bytes]:
    """The arguments ``pid`` was started with; empty when it is gone (or a kernel thread)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.split(b"\0")[:-1] if raw.endswith(b"\0") else raw.split(b"\0")


def start_ticks(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot: with the pid, names one process for good
    (pids are reused). None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def wait_gone(pids: Iterable[int], timeout: float) -> bool:
    """Wait until none of ``pids`` runs; False when some still run after ``timeout`` seconds."""
    waited = list(pids)
    deadline = time.monotonic() + timeout
    while any(pid_alive(pid) for pid in waited):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True
