"""wrk, the HTTP load generator, run in a lab namespace: to completion (:func:`run_wrk`) or in the
background until stopped (:class:`BackgroundWrk`), with its ``--latency`` report parsed into a
:class:`WrkResult` (requests, req/s, p50/p99, socket errors, non-2xx answers).

Used by ``bench.dataplane`` (throughput runs) and ``bench.reload`` (traffic during reloads).
"""

from __future__ import annotations

import dataclasses
import re
import signal
import subprocess

from tests.netlab import Host, stop_process


@dataclasses.dataclass
class WrkResult:
    requests: int = 0
    rps: float = float("nan")
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    connect_errors: int = 0
    read_errors: int = 0
    write_errors: int = 0
    timeouts: int = 0
    non_2xx: int = 0
    output: str = ""

    @property
    def errors(self) -> int:
        """Every failed request wrk saw (socket errors of all kinds and non-2xx/3xx answers)."""
        return (self.connect_errors + self.read_errors + self.write_errors + self.timeouts
                + self.non_2xx)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    """Parse wrk's report (run with ``--latency``)."""
    result = WrkResult(output=text)
    if m := re.search(r"^\s*(\d+) requests in", text, re.M):
        result.requests = int(m.group(1))
    if m := re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M):
        result.rps = float(m.group(1))
    if m := re.search(r"^\s*50%\s+(\S+)", text, re.M):
        result.p50_ms = _ms(m.group(1))
    if m := re.search(r"^\s*99%\s+(\S+)", text, re.M):
        result.p99_ms = _ms(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                      text):
        (result.connect_errors, result.read_errors, result.write_errors,
         result.timeouts) = (int(x) for x in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        result.non_2xx = int(m.group(1))
    return result


def wrk_argv(url: str, *, threads: int, connections: int, duration: float,
             close: bool = False, timeout_s: float = 2.0) -> list[str]:
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
            "--timeout", f"{max(1, round(timeout_s))}s", "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    return [*argv, url]


def run_wrk(host: Host, url: str, *, threads: int, connections: int, duration: float,
            close: bool = False) -> WrkResult:
    """Run wrk in ``host`` to completion and parse its report."""
    done = subprocess.run(
        [*host.exec_argv(), *wrk_argv(url, threads=threads, connections=connections,
                                      duration=duration, close=close)],
        capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    result = parse_wrk(done.stdout)
    if result.requests == 0:
        raise RuntimeError(f"wrk made no request:\n{done.stdout}{done.stderr}")
    return result


class BackgroundWrk:
    """wrk running for as long as needed: started with a long ``-d``, stopped by SIGINT (wrk then
    prints its report)."""

    def __init__(self, host: Host, url: str, *, threads: int = 1, connections: int = 8,
                 close: bool = False, max_duration: float = 3600, nice: int = 0) -> None:
        argv = [*host.exec_argv(), *(["nice", "-n", str(nice)] if nice else []),
                *wrk_argv(url, threads=threads, connections=connections,
                          duration=max_duration, close=close)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        host.lab.defer(stop_process, self.proc)

    def stop(self) -> WrkResult:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=30)
        result = parse_wrk(out)
        if result.requests == 0:
            raise RuntimeError(f"wrk made no request:\n{out}{err}")
        return result
