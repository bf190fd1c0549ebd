"""Readings from ``/proc`` about processes and the host: a process and its children, the memory
of processes (RSS, PSS, USS from ``smaps_rollup``) and the host's ``/proc/meminfo``.

Used by ``bench.dataplane`` (which processes to charge CPU to), ``bench.density`` (memory per
load balancer) and ``bench.servers`` (the processes of a hand-written haproxy). CPU time per
process is ``bench.common.process_cpu_seconds``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (an nginx or haproxy master and its workers)."""
    return [pid, *_children(pid)]


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


@dataclasses.dataclass(frozen=True)
class Memory:
    rss_kb: int
    pss_kb: int
    uss_kb: int

    def __add__(self, other: Memory) -> Memory:
        return Memory(self.rss_kb + other.rss_kb, self.pss_kb + other.pss_kb,
                      self.uss_kb + other.uss_kb)


def memory_of(pid: int) -> Memory:
    """RSS, PSS and USS (private clean + dirty) of ``pid`` from ``/proc/<pid>/smaps_rollup``."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                values[parts[0][:-1]] = int(parts[1])
    return Memory(values.get("Rss", 0), values.get("Pss", 0),
                  values.get("Private_Clean", 0) + values.get("Private_Dirty", 0))


def total_memory(pids: Iterable[int]) -> Memory:
    """:func:`memory_of` summed over ``pids`` (a master and its workers)."""
    total = Memory(0, 0, 0)
    for pid in pids:
        total = total + memory_of(pid)
    return total


def meminfo() -> dict[str, int]:
    """``/proc/meminfo`` in kB."""
    out: dict[str, int] = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0])
    return out
