"""Request ids (lbaas.core.request_ids) and their hand-off through the agent's work queue: the job
runs with the submitter's id bound, merged work keeps every id, unasked work gets its own."""

from __future__ import annotations

import threading
from typing import Any

from lbaas.agent.workqueue import WorkQueue
from lbaas.core.context import new_request_id
from lbaas.core.request_ids import (
    MAX_MERGED,
    bound_from_rpc,
    current_request_id,
    from_rpc_context,
    is_valid,
    merge,
    request_scope,
    rpc_context,
    valid_or_empty,
)

WAIT = 5.0


def test_only_req_uuid_ids_are_valid() -> None:
    rid = new_request_id()
    assert is_valid(rid)
    for hostile in ("", "req-1", rid + "\n", rid + " x", "x" + rid, "req-" + "g" * 36,
                    "req-\u0661" + rid[5:]):
        assert not is_valid(hostile), hostile


def test_joined_ids_are_accepted_up_to_the_cap() -> None:
    ids = [new_request_id() for _ in range(MAX_MERGED + 1)]
    assert valid_or_empty(",".join(ids[:2])) == ",".join(ids[:2])
    assert valid_or_empty(",".join(ids)) == ""
    assert valid_or_empty(ids[0] + ",evil") == ""
    assert valid_or_empty(None) == "" and valid_or_empty(42) == ""


def test_merge_keeps_every_id_once_latest_last_and_bounded() -> None:
    a, b, c = (new_request_id() for _ in range(3))
    assert merge([], "") == []
    assert merge([a, b], a) == [b, a]
    assert merge([a], f"{b},{c}") == [a, b, c]
    many = [new_request_id() for _ in range(MAX_MERGED + 3)]
    merged: list[str] = []
    for rid in many:
        merged = merge(merged, rid)
    assert merged == many[-MAX_MERGED:]


def test_scope_binds_the_given_id_or_a_new_one_and_restores() -> None:
    rid = new_request_id()
    with request_scope(rid) as bound:
        assert bound == rid == current_request_id()
        assert rpc_context() == {"request_id": rid}
        with request_scope() as fresh:
            assert is_valid(fresh) and current_request_id() == fresh
        assert current_request_id() == rid
    assert current_request_id() == ""


def test_rpc_endpoints_bind_the_callers_id_or_a_new_one() -> None:
    seen: list[str] = []

    class Endpoint:
        @bound_from_rpc
        def method(self, ctx: Any, value: int) -> int:
            seen.append(current_request_id())
            return value

    rid = new_request_id()
    assert Endpoint().method({"request_id": rid}, value=1) == 1
    Endpoint().method({"request_id": "req-<script>"}, value=2)
    Endpoint().method({}, value=3)
    assert seen[0] == rid
    assert is_valid(seen[1]) and is_valid(seen[2]) and len(set(seen)) == 3
    assert from_rpc_context("not a dict") == ""


class Jobs:
    """A work-queue handler recording the request id each run sees; can hold a key."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, str]] = []
        self.gate = threading.Event()
        self.started = threading.Event()
        self.hold: str | None = None

    def __call__(self, key: str) -> None:
        self.runs.append((key, current_request_id()))
        if key == self.hold:
            self.started.set()
            assert self.gate.wait(WAIT)


def test_a_job_runs_with_the_submitters_id() -> None:
    jobs = Jobs()
    queue = WorkQueue(jobs, 2, name="ids")
    rid = new_request_id()
    try:
        queue.submit("a", rid)
        queue.submit("b")
        assert queue.join(WAIT)
    finally:
        queue.stop(WAIT)
    ids = dict(jobs.runs)
    assert ids["a"] == rid
    assert is_valid(ids["b"]), "work submitted without an id runs under a new one"


def test_a_coalesced_burst_keeps_every_id() -> None:
    jobs = Jobs()
    jobs.hold = "blocker"
    queue = WorkQueue(jobs, 1, name="ids")
    burst = [new_request_id() for _ in range(3)]
    try:
        queue.submit("blocker", new_request_id())
        assert jobs.started.wait(WAIT)
        for rid in burst:
            queue.submit("a", rid)
        queue.submit("a", burst[0])  # the same request twice: kept once, as the latest
        jobs.gate.set()
        assert queue.join(WAIT)
    finally:
        queue.stop(WAIT)
    assert [key for key, _ in jobs.runs] == ["blocker", "a"]
    assert jobs.runs[1][1].split(",") == [burst[1], burst[2], burst[0]]


def test_the_run_after_a_running_job_carries_the_ids_submitted_meanwhile() -> None:
    jobs = Jobs()
    jobs.hold = "a"
    queue = WorkQueue(jobs, 2, name="ids")
    first, second, third = (new_request_id() for _ in range(3))
    try:
        queue.submit("a", first)
        assert jobs.started.wait(WAIT)
        queue.submit("a", second)
        queue.submit("a", third)
        jobs.hold = None
        jobs.gate.set()
        assert queue.join(WAIT)
    finally:
        queue.stop(WAIT)
    assert jobs.runs == [("a", first), ("a", f"{second},{third}")]


def test_a_job_does_not_leak_its_id_to_the_next_job_of_the_thread() -> None:
    jobs = Jobs()
    queue = WorkQueue(jobs, 1, name="ids")
    rid = new_request_id()
    try:
        queue.submit("a", rid)
        assert queue.join(WAIT)
        queue.submit("b")
        assert queue.join(WAIT)
    finally:
        queue.stop(WAIT)
    assert jobs.runs[0][1] == rid and jobs.runs[1][1] not in ("", rid)
