"""Whether processes the drivers started still run, judged from ``/proc``: shared by the haproxy
and keepalived process managers (:mod:`lbaas.drivers.haproxy.process`,
:mod:`lbaas.drivers.keepalived.process`)."""

from __future__ import annotations

import time
from collections.abc import Iterable


def pid_alive(pid: int) -> bool:
    """True when ``pid`` runs (zombies count as dead: not every init reaps daemons promptly)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_gone(pids: Iterable[int], timeout: float) -> bool:
    """Wait until none of ``pids`` runs; False when some still run after ``timeout`` seconds."""
    waited = list(pids)
    deadline = time.monotonic() + timeout
    while any(pid_alive(pid) for pid in waited):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True
