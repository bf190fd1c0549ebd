"""Tests of the agent's per-key serialised, coalescing work queue (lbaas.agent.workqueue).

Real threads, no mocks. Jobs block on events the test controls, so every ordering asserted here
is forced, not hoped for; waits are bounded so a bug fails the test instead of hanging it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from lbaas.agent.workqueue import QueueStopped, WorkQueue

WAIT = 5.0  # upper bound of every wait; never reached when the queue works


@dataclass
class Recorder:
    """A handler that records calls and can hold chosen keys until released."""

    calls: list[str] = field(default_factory=list)
    gates: dict[str, threading.Event] = field(default_factory=dict)
    started: dict[str, threading.Event] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=dict)
    max_active: dict[str, int] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, key: str) -> None:
        """Jobs for ``key`` block until :meth:`release`."""
        self.gates[key] = threading.Event()
        self.started[key] = threading.Event()

    def release(self, key: str) -> None:
        self.gates[key].set()

    def wait_started(self, key: str) -> None:
        assert self.started[key].wait(WAIT), f"job {key} did not start"

    def __call__(self, key: str) -> None:
        with self.lock:
            self.calls.append(key)
            self.active[key] = self.active.get(key, 0) + 1
            self.max_active[key] = max(self.max_active.get(key, 0), self.active[key])
        try:
            if key in self.started:
                self.started[key].set()
            if key in self.gates:
                assert self.gates[key].wait(WAIT)
            if key in self.fail:
                raise RuntimeError(f"job {key} fails on purpose")
        finally:
            with self.lock:
                self.active[key] -= 1


def wait_for(predicate: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_queue(recorder: Recorder) -> Iterator[Callable[[int], WorkQueue]]:
    queues: list[WorkQueue] = []

    def make(workers: int) -> WorkQueue:
        queue = WorkQueue(recorder, workers, name="test")
        queues.append(queue)
        return queue

    yield make
    for gate in recorder.gates.values():
        gate.set()
    for queue in queues:
        assert queue.stop(WAIT)


def test_submit_runs_the_job(make_queue: Callable[[int], WorkQueue], recorder: Recorder) -> None:
    queue = make_queue(2)
    queue.submit("a")
    assert queue.join(WAIT)
    assert recorder.calls == ["a"]
    assert queue.idle()


def test_burst_on_a_queued_key_coalesces_into_one_run(
    make_queue: Callable[[int], WorkQueue], recorder: Recorder
) -> None:
    queue = make_queue(1)
    recorder.hold("blocker")
    queue.submit("blocker")  # occupies the only worker so "a" stays queued
    recorder.wait_started("blocker")
    for _ in range(10):
        queue.submit("a")
    assert queue.busy("a")
    recorder.release("blocker")
    assert queue.join(WAIT)
    assert recorder.calls == ["blocker", "a"]


def test_submit_while_running_runs_once_more_afterwards(
    make_queue: Callable[[int], WorkQueue], recorder: Recorder
) -> None:
    queue = make_queue(4)
    recorder.hold("a")
    queue.submit("a")
    recorder.wait_started("a")
    for _ in range(5):
        queue.submit("a")  # all folded into one more run
    recorder.release("a")
    assert queue.join(WAIT)
    assert recorder.calls == ["a", "a"]
    assert recorder.max_active["a"] == 1


def test_one_key_never_runs_concurrently_with_itself(
    make_queue: Callable[[int], WorkQueue], recorder: Recorder
) -> None:
    queue = make_queue(8)

    def hammer() -> None:
        for _ in range(200):
            queue.submit("a")

    submitters = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join(WAIT)
    assert queue.join(WAIT)
    assert recorder.max_active["a"] == 1
    assert 1 <= len(recorder.calls) <= 1600


def test_different_keys_run_in_parallel(
    make_queue: Callable[[int], WorkQueue], recorder: Recorder
) -> None:
    queue = make_queue(3)
    for key in ("a", "b", "c"):
        recorder.hold(key)
        queue.submit(key)
    for key in ("a", "b", "c"):
        recorder.wait_started(key)  # all three at once: none is released yet
    for key in ("a", "b", "c"):
        recorder.release(key)
    assert queue.join(WAIT)
    assert sorted(recorder.calls) == ["a", "b", "c"]


def test_parallelism_is_bounded_by_workers(
    make_queue: Callable[[int], WorkQueue], recorder: Recorder
) -> None:
    queue = make_queue(2)
    for key in ("a", "b", "c"):
        recorder.hold(key)
        queue.submit(key)
    recorder.wait_started("a")
    recorder.wait_started("b")
    assert not recorder.started["c"].is_set()
    assert queue.busy("c")
    recorder.release("a")
    recorder.wait_started("c")
    recorder.release("b")
    recorder.release("c")
    assert queue.join(WAIT)
    # a and b start together on the two workers, in either order; c only after one is done.
    assert sorted(recorder.calls[:2]) == ["a", "b"] and recorder.calls[2:] == ["c"]


def test_a_failing_job_is_logged_and_the_worker_survives(
    make_queue: Callable[[int], WorkQueue],
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = make_queue(1)
    recorder.fail.add("bad")
    queue.submit("bad")
    assert queue.join(WAIT)
    queue.submit("good")
    assert queue.join(WAIT)
    assert recorder.calls == ["bad", "good"]
    assert "work on bad failed" in caplog.text


def test_join_times_out_while_a_job_runs(
    make_queue: Callable[[int], WorkQueue], recorder: Recorder
) -> None:
    queue = make_queue(1)
    recorder.hold("a")
    queue.submit("a")
    recorder.wait_started("a")
    assert not queue.join(0.05)
    assert queue.busy("a")
    recorder.release("a")
    assert queue.join(WAIT)
    assert not queue.busy("a")


def test_stop_drops_queued_keys_and_refuses_new_ones(
    make_queue: Callable[[int], WorkQueue], recorder: Recorder
) -> None:
    queue = make_queue(1)
    recorder.hold("a")
    queue.submit("a")
    recorder.wait_started("a")
    queue.submit("b")
    queue.submit("a")  # would run again, but the queue stops first
    stopper = threading.Thread(target=queue.stop, args=(WAIT,))
    stopper.start()
    assert wait_for(lambda: queue.stopped)
    recorder.release("a")
    stopper.join(WAIT)
    assert recorder.calls == ["a"]
    with pytest.raises(QueueStopped):
        queue.submit("c")
    assert queue.stop(WAIT)  # idempotent


def test_workers_must_be_positive(recorder: Recorder) -> None:
    with pytest.raises(ValueError):
        WorkQueue(recorder, 0)
