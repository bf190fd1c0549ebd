"""A per-key serialised, coalescing work queue on a fixed pool of threads.

The agent manager submits a load balancer id whenever something about that load balancer may
have changed (an RPC cast, ``sync_state``, a dead haproxy); one handler call then brings the
load balancer to what the server wants. The queue guarantees:

* one job per key at a time: two changes to one load balancer never run concurrently;
* coalescing: submitting a key that is queued and not started yet is a no-op, so a burst of
  casts becomes one run (one haproxy reload);
* no lost update: submitting a key while its job runs makes it run once more afterwards, so the
  second run sees everything the first may have missed;
* different keys run in parallel on ``workers`` threads, in submission order;
* an exception in a job is logged and never kills a worker;
* request ids travel with the work: :meth:`WorkQueue.submit` takes the id of the request that
  caused it (the hand-off from the submitting thread is explicit, a worker thread does not share
  its context), and the job runs with it bound for logging. Work merged from several
  submissions (a coalesced burst, or the run once more after a running job) keeps *every* id,
  in arrival order, joined by ``,`` in the one ``request_id`` field (the latest
  :data:`lbaas.core.request_ids.MAX_MERGED`): a search for any request's id finds the
  run that applied its change. A key submitted without an id runs under a new one.

Threads start lazily on the first :meth:`WorkQueue.submit`, so building a queue is free.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from lbaas.core.request_ids import joined, merge, request_scope

LOG = logging.getLogger(__name__)


class QueueStopped(RuntimeError):
    """:meth:`WorkQueue.submit` after :meth:`WorkQueue.stop`."""


class WorkQueue:
    """Runs ``handler(key)`` for submitted keys, one at a time per key, ``workers`` in parallel."""

    def __init__(
        self, handler: Callable[[str], None], workers: int, name: str = "lbaas-work"
    ) -> None:
        if workers < 1:
            raise ValueError("a work queue needs at least one worker")
        self._handler = handler
        self._workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._ready: collections.deque[str] = collections.deque()  # queued, not started
        self._queued: set[str] = set()  # keys in _ready
        self._running: set[str] = set()
        self._again: set[str] = set()  # running keys submitted again meanwhile
        self._ids: dict[str, list[str]] = {}  # request ids of queued keys
        self._again_ids: dict[str, list[str]] = {}  # request ids of keys in _again
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # -- producers -----------------------------------------------------------------------------

    def submit(self, key: str, request_id: str = "") -> None:
        """Run ``handler(key)`` soon, with ``request_id`` (the submitter's, passed on
        explicitly) bound while it runs (see the module docstring for coalescing rules and
        what merged work keeps)."""
        with self._cond:
            if self._stopping:
                raise QueueStopped(f"work queue {self._name} is stopped")
            self._start_threads()
            if key in self._queued:
                self._ids[key] = merge(self._ids.get(key, []), request_id)
                return
            if key in self._running:
                self._again.add(key)
                self._again_ids[key] = merge(self._again_ids.get(key, []), request_id)
                return
            self._ready.append(key)
            self._queued.add(key)
            self._ids[key] = merge([], request_id)
            self._cond.notify()

    def busy(self, key: str) -> bool:
        """True while ``key`` is queued or running."""
        with self._cond:
            return key in self._queued or key in self._running

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        with self._cond:
            return self._stopping

    def idle(self) -> bool:
        """True when nothing is queued or running."""
        with self._cond:
            return not self._ready and not self._running

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running; False if ``timeout`` expired first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._ready or self._running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def stop(self, timeout: float | None = None) -> bool:
        """Drop queued keys, let running jobs finish, end the threads. Idempotent.

        Returns False if a job was still running when ``timeout`` expired (its thread is a
        daemon and ends with the job).
        """
        with self._cond:
            self._stopping = True
            dropped = len(self._ready)
            self._ready.clear()
            self._queued.clear()
            self._again.clear()
            self._ids.clear()
            self._again_ids.clear()
            self._cond.notify_all()
            threads = list(self._threads)
        if dropped:
            LOG.info("work queue %s stopped with %d queued keys dropped", self._name, dropped)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not any(thread.is_alive() for thread in threads)

    # -- workers -------------------------------------------------------------------------------

    def _start_threads(self) -> None:
        """Start the worker threads (called with the lock held)."""
        if self._threads:
            return
        for number in range(self._workers):
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _next_key(self) -> tuple[str, str] | None:
        """Block until a key is ready (mark it running) or the queue stops (None); the key and
        the request ids of its run (joined)."""
        with self._cond:
            while not self._ready and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            key = self._ready.popleft()
            self._queued.discard(key)
            self._running.add(key)
            return key, joined(self._ids.pop(key, []))

    def _finish(self, key: str) -> None:
        with self._cond:
            self._running.discard(key)
            if key in self._again and not self._stopping:
                self._again.discard(key)
                self._ready.append(key)
                self._queued.add(key)
                self._ids[key] = self._again_ids.pop(key, [])
            self._cond.notify_all()  # a worker for the re-queued key, and join()

    def _work(self) -> None:
        while (job := self._next_key()) is not None:
            key, request_id = job
            try:
                with request_scope(request_id):
                    try:
                        self._handler(key)
                    except Exception:
                        LOG.exception("work on %s failed", key)
            finally:
                self._finish(key)
