"""What the data-plane benchmarks' ``main()`` share around a run: the overall time budget
(:class:`Deadline`, the ``--timeout`` of each benchmark), the options of the wrk-driven ones
(:func:`wrk_parser`, :func:`chosen_params`) and the end of the run (:func:`finish`: the total
time, and the ``--json`` file).

Used by ``bench.dataplane``, ``bench.provisioning``, ``bench.member_update``, ``bench.reload``,
``bench.density`` and ``bench.metrics_cost``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

P = TypeVar("P")


@dataclasses.dataclass(frozen=True)
class WrkParams:
    """The parameters of a benchmark made of repeated wrk runs (see :func:`wrk_parser`)."""

    duration: float
    repeats: int
    threads: int
    connections: int


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


def wrk_parser(prog: str, description: str | None, repeats_help: str) -> argparse.ArgumentParser:
    """The options of a benchmark made of repeated wrk runs: ``--quick``, ``--duration``,
    ``--repeats``, ``--connections``, ``--threads``, ``--timeout`` and ``--json``."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 s runs, once (smoke test)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, help=repeats_help)
    parser.add_argument("--connections", type=int, help="wrk connections")
    parser.add_argument("--threads", type=int, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=1200,
                        help="overall budget in seconds (default 1200)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def chosen_params(quick: P, full: P, args: argparse.Namespace) -> P:
    """``quick`` or ``full`` (by ``--quick``) with every field the command line set replaced."""
    params = quick if args.quick else full
    given = {field.name: getattr(args, field.name)
             for field in dataclasses.fields(params)  # type: ignore[arg-type]
             if getattr(args, field.name, None) is not None}
    return dataclasses.replace(params, **given)  # type: ignore[type-var]
