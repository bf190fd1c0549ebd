"""The load generator of the fault tests (``test_faults_*.py``): paced GETs from a lab namespace
that count every failed request, on new and on keep-alive connections.

Not a test module. Everything here is bounded in time; nothing waits forever.
"""

from __future__ import annotations

import contextlib
import json
import select
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.netlab import Host, stop_process

# -- a paced load generator in a lab namespace ---------------------------------------------------

LOADGEN = textwrap.dedent(
    """
    import collections, http.client, json, os, sys, threading, time

    vip, port, interval, max_seconds, min_requests, stop_file, per_conn = (
        sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]),
        int(sys.argv[5]), sys.argv[6], int(sys.argv[7]))
    results = {}
    start = time.monotonic()

    def run(kind):
        ok = failed = reused = 0
        errors, bodies, slowest = [], collections.Counter(), 0.0
        conn, used = None, 0
        i = 0
        while True:
            now = time.monotonic()
            if now - start > max_seconds or (i >= min_requests and os.path.exists(stop_file)):
                break
            due = start + i * interval
            if due > now:
                time.sleep(due - now)
            i += 1
            began = time.monotonic()
            try:
                if kind == "fresh" or conn is None or used >= per_conn:
                    if conn is not None:
                        conn.close()
                    conn, used = http.client.HTTPConnection(vip, port, timeout=5), 0
                if kind == "fresh":
                    conn.request("GET", "/", headers={"Connection": "close"})
                else:
                    reused += conn.sock is not None
                    conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read().decode()
                used += 1
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {body[:100]}")
                ok += 1
                bodies[body.strip()] += 1
            except Exception as exc:
                failed += 1
                errors.append(f"{time.monotonic() - start:.3f}s {type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
            slowest = max(slowest, time.monotonic() - began)
            if kind == "fresh" and conn is not None:
                conn.close()
                conn = None
        results[kind] = {"ok": ok, "failed": failed, "errors": errors[:20],
                         "bodies": dict(bodies), "reused": reused,
                         "slowest": round(slowest, 3)}

    kinds = sys.argv[8].split(",")
    threads = [threading.Thread(target=run, args=(k,)) for k in kinds]
    for t in threads:
        t.start()
    print("READY", flush=True)
    for t in threads:
        t.join()
    results["seconds"] = round(time.monotonic() - start, 3)
    print(json.dumps(results), flush=True)
    """
)


@dataclass
class LoadResult:
    seconds: float
    kinds: dict[str, dict[str, Any]]

    @property
    def ok(self) -> int:
        return sum(k["ok"] for k in self.kinds.values())

    @property
    def failed(self) -> int:
        return sum(k["failed"] for k in self.kinds.values())

    @property
    def errors(self) -> list[str]:
        return [f"{name}: {e}" for name, k in self.kinds.items() for e in k["errors"]]

    @property
    def bodies(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.kinds.values():
            for body, count in k["bodies"].items():
                out[body] = out.get(body, 0) + count
        return out

    def summary(self) -> str:
        parts = [f"{name}: {k['ok']} ok, {k['failed']} failed, slowest {k['slowest']}s"
                 + (f", {k['reused']} on reused connections" if name == "keepalive" else "")
                 for name, k in self.kinds.items()]
        return f"{self.ok + self.failed} requests in {self.seconds}s ({'; '.join(parts)})"


class LoadGen:
    """Paced GETs from ``client`` to ``vip``: one thread opening a new connection per request
    and/or one reusing keep-alive connections (``per_conn`` requests each), each thread one
    request every ``interval`` seconds. Runs until :meth:`stop` once ``min_requests`` per thread
    were sent, and never longer than ``max_seconds``."""

    def __init__(self, client: Host, vip: str, stop_file: Path, interval: float = 0.04,
                 min_requests: int = 200, max_seconds: float = 40, per_conn: int = 20,
                 kinds: tuple[str, ...] = ("fresh", "keepalive"), port: int = 80) -> None:
        self.stop_file = stop_file
        with contextlib.suppress(FileNotFoundError):
            stop_file.unlink()
        self.max_seconds = max_seconds
        self.proc = client.spawn(
            [sys.executable, "-c", LOADGEN, vip, str(port), str(interval), str(max_seconds),
             str(min_requests), str(stop_file), str(per_conn), ",".join(kinds)],
            ready_line="READY")

    def stop(self) -> LoadResult:
        """Ask it to stop (after its minimum), wait and return what it counted."""
        self.stop_file.touch()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.max_seconds + 15
        line = ""
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if readable:
                line = self.proc.stdout.readline()
                if line.strip() or self.proc.poll() is not None:
                    break
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        stop_process(self.proc)
        assert line.strip(), f"load generator gave no result: {err}"
        data = json.loads(line)
        seconds = data.pop("seconds")
        return LoadResult(seconds, data)


@contextlib.contextmanager
def load(client: Host, vip: str, stop_file: Path, **kwargs: Any) -> Iterator[list[LoadResult]]:
    """Run a :class:`LoadGen` for the ``with`` block; the result is appended to the yielded
    list when the block ends (the generator is stopped even when the block fails)."""
    gen = LoadGen(client, vip, stop_file, **kwargs)
    out: list[LoadResult] = []
    try:
        yield out
    finally:
        out.append(gen.stop())
