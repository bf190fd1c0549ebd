"""What the data-plane benchmarks' ``main()`` share around a run: the overall time budget
(:class:`Deadline`, the ``--timeout`` of each benchmark) and the end of the run (:func:`finish`:
the total time, and the ``--json`` file).

Used by ``bench.dataplane``, ``bench.provisioning``, ``bench.member_update``, ``bench.reload``
and ``bench.density``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class Deadline:
    """A wall-clock budget for a whole benchmark."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0


def finish(started: float, json_path: Path | None, params: Any, result: Mapping[str, Any]) -> None:
    """Print the run's total time (since ``started``, monotonic); with a ``json_path``, write
    ``{"params": <params dataclass>, **result}`` there."""
    print(f"total time {time.monotonic() - started:.0f} s")
    if json_path:
        json_path.write_text(json.dumps({"params": dataclasses.asdict(params), **result},
                                        indent=2, default=str))
