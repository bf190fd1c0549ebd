"""Retry times of load balancers whose last refresh failed for a reason that may pass.

The agent manager (:class:`lbaas.agent.manager.AgentManager`) asks for a retry after a temporary
failure (the server unreachable, netlink or file errors, haproxy failing to start) or a bug (an
unexpected exception): the first retry comes after :data:`FIRST_DELAY` seconds and each further
one waits twice as long, up to :data:`MAX_DELAY`, so a lasting failure costs little and a passing
one heals quickly. A success forgets the load balancer. The agent service polls :meth:`due`. A
retry keeps the request id of the work that failed, so its log lines and reports can be found
under the change that caused them.
Thread-safe; the clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FIRST_DELAY = 1.0
MAX_DELAY = 60.0


class Retries:
    """Per load balancer: how many retries in a row, and when the next one is due."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._due: dict[str, float] = {}
        self._request_ids: dict[str, str] = {}

    def schedule(self, lb_id: str, request_id: str = "") -> float:
        """Plan the next retry of ``lb_id`` for the work of ``request_id``; returns its delay
        in seconds."""
        with self._lock:
            self._request_ids[lb_id] = request_id
            failures = self._failures.get(lb_id, 0)
            delay = min(MAX_DELAY, FIRST_DELAY * 2 ** failures)
            self._failures[lb_id] = failures + 1
            self._due[lb_id] = self._clock() + delay
            return delay

    def forget(self, lb_id: str) -> None:
        """``lb_id`` is fine now (or gone): no retry, and the next failure starts over."""
        with self._lock:
            self._failures.pop(lb_id, None)
            self._due.pop(lb_id, None)
            self._request_ids.pop(lb_id, None)

    def due(self) -> list[tuple[str, str]]:
        """The load balancers whose retry time has come, each with the request id of the work
        that failed (each handed out once per schedule)."""
        now = self._clock()
        with self._lock:
            ready = sorted(lb_id for lb_id, at in self._due.items() if at <= now)
            for lb_id in ready:
                del self._due[lb_id]
            return [(lb_id, self._request_ids.pop(lb_id, "")) for lb_id in ready]

    def pending(self, lb_id: str) -> bool:
        """Whether a retry of ``lb_id`` is planned."""
        with self._lock:
            return lb_id in self._due
