"""Which load balancers a stats pass reads: the busy ones every pass, the quiet ones rarely.

Reading a load balancer's stats (haproxy's master and stats sockets, a CSV to parse) costs the
agent about a millisecond; at one pass a second that made 1,000 idle load balancers cost a third
of a core. What the reading is for rarely changes while a load balancer is idle: its counters do
not move, and a member's health transition reaches the agent at once as an event on its log
socket (:mod:`lbaas.agent.access_logs.receiver`), as does every logged request. So a load
balancer whose last reading the server already has is read again after 1, 2, 4, ... passes, up to
``max_passes`` (``[agent] stats_idle_interval``); anything that may have changed it makes it due
at the next pass (:meth:`StatsPacing.wake`): a member event, traffic, a deploy, a drain in
progress, a reading that could not be sent. Stats collection then costs in proportion to traffic
and changes, not to the number of load balancers held; ``max_passes`` bounds how late a change
no event announced (the bytes of a long TCP connection, a listener that logs nothing) is seen.

Used by :meth:`lbaas.agent.manager.AgentManager.collect_stats` (one pass, one thread) and woken
from other threads (the log receiver, deploy jobs): every method takes the pacer's own lock.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


def idle_passes(idle_interval: float, stats_interval: float) -> int:
    """The most passes a quiet load balancer goes unread for ``[agent] stats_idle_interval``
    seconds at one pass every ``stats_interval`` seconds (at least 1: read every pass)."""
    return max(1, math.ceil(idle_interval / stats_interval - 1e-9))


@dataclass
class _Pace:
    every: int = 1  # passes between two readings while quiet
    wait: int = 0  # passes to skip before the next reading


class StatsPacing:
    """Per load balancer: whether this pass reads it, and how long a quiet one waits."""

    def __init__(self, max_passes: int) -> None:
        """``max_passes`` >= 1: the most passes a quiet load balancer goes unread (1: every load
        balancer is read every pass)."""
        if max_passes < 1:
            raise ValueError(f"max_passes must be at least 1, not {max_passes}")
        self.max_passes = max_passes
        self._paces: dict[str, _Pace] = {}
        self._lock = threading.Lock()

    def due(self, lb_id: str) -> bool:
        """Whether this pass reads ``lb_id`` (a load balancer never seen is due); counts the
        pass for one that is not."""
        with self._lock:
            pace = self._paces.get(lb_id)
            if pace is None or pace.wait <= 0:
                return True
            pace.wait -= 1
            return False

    def read(self, lb_id: str, quiet: bool) -> None:
        """``lb_id`` was read. ``quiet``: the server already has everything the reading holds,
        so the wait doubles (up to ``max_passes``); otherwise it is read again next pass."""
        with self._lock:
            pace = self._paces.setdefault(lb_id, _Pace())
            pace.every = min(pace.every * 2, self.max_passes) if quiet else 1
            pace.wait = pace.every - 1

    def wake(self, lb_id: str) -> None:
        """Something may have changed ``lb_id``: read it at the next pass, and every pass until
        a reading is quiet again."""
        with self._lock:
            pace = self._paces.get(lb_id)
            if pace is not None:
                pace.every = 1
                pace.wait = 0

    def forget(self, lb_id: str) -> None:
        """``lb_id`` is no longer deployed here."""
        with self._lock:
            self._paces.pop(lb_id, None)

    def at_rest(self) -> int:
        """Load balancers read only every ``max_passes`` passes (quiet for long)."""
        with self._lock:
            return sum(1 for pace in self._paces.values() if pace.every >= self.max_passes)

    def waiting(self) -> int:
        """Load balancers the next pass will not read (for tests and benchmarks)."""
        with self._lock:
            return sum(1 for pace in self._paces.values() if pace.wait > 0)
