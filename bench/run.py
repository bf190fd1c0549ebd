"""What the data-plane benchmarks' ``main()`` share around a run: the overall time budget
(:class:`Deadline`, the ``--timeout`` of each benchmark).

Used by ``bench.dataplane``, ``bench.provisioning``, ``bench.member_update``, ``bench.reload``
and ``bench.density``.
"""

from __future__ import annotations

import time


class Deadline:
    """A wall-clock budget for a whole benchmark."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0
