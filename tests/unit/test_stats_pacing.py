"""The stats pacer (:mod:`lbaas.agent.stats_pacing`): a quiet load balancer is read after 1, 2,
4... passes up to the cap, anything that wakes it makes it due at the next pass and every pass
until a reading is quiet again."""

from __future__ import annotations

import pytest

from lbaas.agent.stats_pacing import StatsPacing, idle_passes


def reading_passes(pacing: StatsPacing, lb_id: str, passes: int, quiet: bool = True) -> list[int]:
    """The passes (1-based) in which ``lb_id`` is read, each reading ``quiet`` or not."""
    read = []
    for number in range(1, passes + 1):
        if pacing.due(lb_id):
            read.append(number)
            pacing.read(lb_id, quiet)
    return read


def test_a_quiet_load_balancer_is_read_ever_more_rarely_up_to_the_cap() -> None:
    pacing = StatsPacing(max_passes=8)
    assert reading_passes(pacing, "lb1", 40) == [1, 3, 7, 15, 23, 31, 39]


def test_a_busy_load_balancer_is_read_every_pass() -> None:
    pacing = StatsPacing(max_passes=8)
    assert reading_passes(pacing, "lb1", 10, quiet=False) == list(range(1, 11))


def test_a_cap_of_one_reads_every_pass_even_when_quiet() -> None:
    pacing = StatsPacing(max_passes=1)
    assert reading_passes(pacing, "lb1", 5) == [1, 2, 3, 4, 5]
    assert pacing.waiting() == 0


def test_wake_makes_a_backed_off_load_balancer_due_next_pass_and_restarts_the_backoff() -> None:
    pacing = StatsPacing(max_passes=16)
    reading_passes(pacing, "lb1", 20)
    assert pacing.waiting() == 1
    pacing.wake("lb1")
    assert pacing.waiting() == 0
    assert reading_passes(pacing, "lb1", 4) == [1, 3]  # read, then waits 1 pass, not 16


def test_a_reading_that_is_not_quiet_resets_the_backoff() -> None:
    pacing = StatsPacing(max_passes=16)
    reading_passes(pacing, "lb1", 20)
    pacing.wake("lb1")
    assert pacing.due("lb1")
    pacing.read("lb1", quiet=False)
    assert pacing.due("lb1")  # read again at once, not after a doubled wait


def test_waking_or_forgetting_an_unknown_load_balancer_is_harmless() -> None:
    pacing = StatsPacing(max_passes=4)
    pacing.wake("nobody")
    pacing.forget("nobody")
    assert pacing.due("nobody")
    reading_passes(pacing, "lb1", 2)
    pacing.forget("lb1")
    assert pacing.due("lb1")  # a load balancer deployed again starts afresh


@pytest.mark.parametrize(("idle", "interval", "passes"), [
    (30.0, 1.0, 30), (30.0, 0.5, 60), (1.0, 0.3, 4), (0.0, 1.0, 1), (0.5, 1.0, 1), (3.0, 1.0, 3),
])
def test_idle_interval_in_passes(idle: float, interval: float, passes: int) -> None:
    assert idle_passes(idle, interval) == passes


def test_a_cap_below_one_pass_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        StatsPacing(max_passes=0)
