"""Full TLS handshakes per second, measured with ``openssl s_time -new`` run in a lab namespace:
several s_time processes at once against one ``ip:port`` (:func:`run_s_time`), their reports
parsed and added up into a :class:`HandshakeResult`.

Each s_time process loops for the given time: connect, a full handshake (``-new``: it never
offers a session to resume), ``GET / HTTP/1.0`` (``-www /``), read the answer to the end, close.
One process waits for each answer, so several run at once to keep the server busy. wrk cannot
measure this: it resumes the TLS session of a connection it re-opens (see ``bench.tls``).

Used by ``bench.tls``.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import time

from tests.netlab import Host, stop_process


@dataclasses.dataclass
class HandshakeResult:
    connections: int = 0
    seconds: float = float("nan")
    processes: int = 0
    failed_processes: int = 0
    outputs: list[str] = dataclasses.field(default_factory=list)

    @property
    def rate(self) -> float:
        """Connections (each a full handshake and one request) per second of wall time."""
        if not self.connections or self.seconds != self.seconds or self.seconds <= 0:
            return float("nan")
        return self.connections / self.seconds


_CONNECTIONS = re.compile(r"^(\d+) connections in [\d.]+ real seconds", re.M)


def parse_s_time(text: str) -> int | None:
    """The number of connections an ``s_time -new`` report counts; None without a report."""
    match = _CONNECTIONS.search(text)
    return int(match.group(1)) if match else None


def s_time_argv(target: str, duration: float, path: str = "/") -> list[str]:
    return ["openssl", "s_time", "-connect", target, "-new", "-www", path,
            "-time", str(max(1, round(duration)))]


def run_s_time(host: Host, target: str, *, processes: int, duration: float) -> HandshakeResult:
    """Run ``processes`` s_time clients in ``host`` against ``target`` (``ip:port``) for
    ``duration`` seconds; the rate is their connections over the wall time from the start of
    the first to the end of the last. RuntimeError when none completed a connection."""
    argv = [*host.exec_argv(), *s_time_argv(target, duration)]
    started = time.monotonic()
    procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(processes)]
    result = HandshakeResult(processes=processes)
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=duration + 60)
            # its progress line is one '*' per connection: keep the report only
            result.outputs.append("\n".join(
                line for line in out.splitlines() if not line.startswith("*")))
            count = parse_s_time(out)
            if proc.returncode != 0 or count is None:
                result.failed_processes += 1
            result.connections += count or 0
    finally:
        for proc in procs:
            stop_process(proc)
    result.seconds = time.monotonic() - started
    if result.connections == 0:
        raise RuntimeError(f"openssl s_time made no connection to {target}:\n"
                           + "\n".join(o[-500:] for o in result.outputs))
    return result
