"""A Prometheus-like scraper in its own process: ``GET`` one URL every ``--interval`` seconds
(fixed schedule, one keep-alive connection, as Prometheus scrapes) and print one line per scrape:
``ok <seconds> <bytes>`` or ``fail <reason>`` (also when the body lacks the ``--expect`` text).
A bearer token, when the URL needs one, comes on stdin (a token never goes on a command line:
``ps`` shows it). SIGINT or SIGTERM ends it once the scrape under way is done.

:class:`BackgroundScraper` runs it in a lab namespace (or in the root namespace) and collects the
latencies; used by ``bench.metrics_cost`` (data-plane cost of being scraped).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import BenchError, process_cpu_seconds
from tests.netlab import Host, stop_process

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class ScrapeStats:
    """What one background scraper saw (its first scrape, before the measured run, left out)."""

    latencies_s: list[float] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    size: int = 0
    cpu_s: float = 0.0  # the scraper's own CPU time from after its first scrape to its stop


class BackgroundScraper:
    """``python -m bench.scraper`` in ``host`` (None: this namespace), started by the constructor,
    which returns once its first scrape succeeded; :meth:`stop` ends it and parses its lines."""

    def __init__(self, host: Host | None, url: str, interval: float, expect: str,
                 token: str | None = None) -> None:
        argv = [sys.executable, "-m", "bench.scraper", url, "--interval", f"{interval:g}",
                "--expect", expect]
        if token is not None:
            argv.append("--token-on-stdin")
        self.proc = subprocess.Popen([*(host.exec_argv() if host else []), *argv], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        if host is not None:
            host.lab.defer(stop_process, self.proc)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if token is not None:
            self.proc.stdin.write(token + "\n")
        self.proc.stdin.close()
        self.proc.stdin = None  # closed: communicate() must not flush it
        first = self.proc.stdout.readline()
        if not first.startswith("ok "):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise BenchError(f"scraping {url} failed: {first.strip()} {err.strip()}")
        # ``ip netns exec`` execs the command: the pid is the scraper's own.
        self._cpu_start = process_cpu_seconds(self.proc.pid)

    def stop(self) -> ScrapeStats:
        cpu_s = process_cpu_seconds(self.proc.pid) - self._cpu_start
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            raise
        stats = parse_lines(out)
        stats.cpu_s = cpu_s
        return stats


def parse_lines(text: str) -> ScrapeStats:
    stats = ScrapeStats()
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "ok":
            seconds, size = rest.split()
            stats.latencies_s.append(float(seconds))
            stats.size = int(size)
        elif kind == "fail":
            stats.failures.append(rest)
    return stats


_stopping: list[int] = []


def _stop(signum: int, _frame: Any) -> None:
    # Noted, not raised: the scrape under way ends first, so the server never writes to a
    # connection closed under it.
    _stopping.append(signum)


def main(argv: list[str] | None = None) -> int:
    import httpx  # here: the parent process imports this module only for the class above

    parser = argparse.ArgumentParser(prog="python -m bench.scraper", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--expect", default="", help="text every answer must contain")
    parser.add_argument("--token-on-stdin", action="store_true",
                        help="send 'Authorization: Bearer <first line of stdin>'")
    args = parser.parse_args(argv)
    headers = ({"Authorization": f"Bearer {sys.stdin.readline().strip()}"}
               if args.token_on_stdin else {})
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with httpx.Client(headers=headers, timeout=10) as client:
        next_at = time.monotonic()
        while not _stopping:
            started = time.perf_counter()
            try:
                answer = client.get(args.url)
                answer.raise_for_status()
                elapsed = time.perf_counter() - started
                line = (f"ok {elapsed:.6f} {len(answer.content)}"
                        if args.expect in answer.text else f"fail no {args.expect!r}")
            except httpx.HTTPError as exc:
                line = f"fail {type(exc).__name__}: {exc}".replace("\n", " ")
            print(line, flush=True)
            next_at = max(next_at + args.interval, time.monotonic())  # late: skip
            while not _stopping and time.monotonic() < next_at:
                time.sleep(min(0.05, next_at - time.monotonic()))
    return 0

if __name__ == "__main__":
    sys.exit(main())
