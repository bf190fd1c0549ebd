"""The master CLI of one load balancer's haproxy: ``show proc`` and ``reload``.

haproxy runs in master-worker mode with a master CLI socket (``-S master.sock``). ``show proc``
lists the master (pid, reload counters) and its current workers (pid, reloads); the process
manager (:mod:`.process`) judges liveness and the outcome of a reload from it, always through this
load balancer's own socket and never by process name: PIDs are not isolated by network
namespaces. The commands travel over :func:`lbaas.drivers.haproxy.stats.socket_command`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lbaas.drivers.haproxy.stats import socket_command

_MASTER_LINE = re.compile(r"^(\d+)\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]")
_WORKER_LINE = re.compile(r"^(\d+)\s+worker\s+(\d+)")


@dataclass(frozen=True)
class ProcInfo:
    """The master CLI's ``show proc``: master pid, reload counters, worker (pid, reloads)."""

    master_pid: int
    reloads: int
    failed_reloads: int
    workers: tuple[tuple[int, int], ...]


def parse_show_proc(text: str) -> ProcInfo:
    """Parse the master CLI's ``show proc`` answer (HAProxy 2.x format).

    Raises ValueError when the answer has no master line.
    """
    master: ProcInfo | None = None
    workers: list[tuple[int, int]] = []
    for line in text.splitlines():
        if match := _MASTER_LINE.match(line):
            pid, reloads, failed = (int(g) for g in match.groups())
            master = ProcInfo(pid, reloads, failed, ())
        elif match := _WORKER_LINE.match(line):
            workers.append((int(match.group(1)), int(match.group(2))))
    if master is None:
        raise ValueError(f"unexpected show proc answer: {text[:200]!r}")
    return ProcInfo(master.master_pid, master.reloads, master.failed_reloads, tuple(workers))


def show_proc(master_socket: str | os.PathLike[str], timeout: float = 2.0) -> ProcInfo | None:
    """``show proc`` from the master on ``master_socket``, or None when no master answers (or
    its answer cannot be parsed)."""
    try:
        text = socket_command(os.fspath(master_socket), "show proc", timeout=timeout)
    except OSError:
        return None
    try:
        return parse_show_proc(text)
    except ValueError:
        return None


def request_reload(master_socket: str | os.PathLike[str], timeout: float) -> None:
    """Ask the master to ``reload``: it re-executes itself, takes the listening sockets over from
    the old worker and lets the old worker finish its connections. Does not wait for the outcome
    (poll :func:`show_proc`). Raises OSError when the socket does not answer."""
    socket_command(os.fspath(master_socket), "reload", timeout=timeout)
