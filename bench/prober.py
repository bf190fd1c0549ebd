"""The prober: a small Python process in the client namespace that probes a VIP over new
connections every few milliseconds and reports the ``time.monotonic()`` of the answer it waited
for (any 200, a 200 with a given body, or 8 answers in a row without it), so that "traffic
reached the change" is timed outside this process's busy API and agent threads.

Used by ``bench.dataplane``, ``bench.provisioning``, ``bench.member_update``, ``bench.reload``
and ``bench.density``.
"""

from __future__ import annotations

import contextlib
import select
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Future

from tests.netlab import Host, stop_process

PROBER = textwrap.dedent(
    r"""
    import errno, socket, sys, threading, time

    lock = threading.Lock()

    def say(line):
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def get(ip, port, timeout):
        # (body, None) for a 200, else (None, why)
        try:
            with socket.create_connection((ip, port), timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
                chunks = []
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except OSError as exc:
            return None, type(exc).__name__ if exc.errno is None else errno.errorcode.get(
                exc.errno, str(exc.errno))
        raw = b"".join(chunks)
        head, _, body = raw.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1."):
            return None, "not-http"
        if head[9:12] != b"200":
            return None, "http" + head[9:12].decode(errors="replace")
        return body.decode(errors="replace").strip(), None

    def wait(job, ip, port, mode, arg, timeout, interval):
        deadline = time.monotonic() + timeout
        streak, probes, why = 0, 0, "-"
        while time.monotonic() < deadline:
            body, failure = get(ip, port, 0.3)
            why = failure or why
            now = time.monotonic()
            probes += 1
            if mode == "ok" and body is not None:
                return say(f"DONE {job} 1 {now:.6f} {probes} -")
            if mode == "body" and body == arg:
                return say(f"DONE {job} 1 {now:.6f} {probes} -")
            if mode == "notbody":
                if body is not None and body != arg:
                    streak += 1
                    if streak == 1:
                        first = now
                    if streak >= 8:
                        return say(f"DONE {job} 1 {first:.6f} {probes} -")
                else:
                    streak = 0
            time.sleep(interval)
        say(f"DONE {job} 0 {time.monotonic():.6f} {probes} {why}")

    say("READY")
    for line in sys.stdin:
        job, ip, port, mode, arg, timeout, interval = line.rstrip("\n").split("\t")
        threading.Thread(target=wait, daemon=True, args=(
            job, ip, int(port), mode, arg, float(timeout), float(interval))).start()
    """
)


class Prober:
    """Waits for answers through a VIP from the client namespace, in a separate process (so the
    agent's and API's threads in this process do not delay the probes), and returns the
    ``time.monotonic()`` of the answer (CLOCK_MONOTONIC is shared by all processes).

    ``mode``: ``ok`` (any 200), ``body`` (a 200 with this body), ``notbody`` (the first of 8
    answers in a row that are 200 without this body)."""

    def __init__(self, host: Host) -> None:
        self.proc = subprocess.Popen([*host.exec_argv(), sys.executable, "-c", PROBER],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        host.lab.defer(self.close)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        if not ready or self.proc.stdout.readline().strip() != "READY":
            raise RuntimeError("prober did not start")
        self._lock = threading.Lock()
        self._jobs: dict[str, Future[tuple[bool, float, int]]] = {}
        self._next = 0
        self.failures: dict[str, int] = {}  # why unanswered waits last failed, counted
        self._reader = threading.Thread(target=self._read, name="bench-prober", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) == 6 and parts[0] == "DONE":
                with self._lock:
                    fut = self._jobs.pop(parts[1], None)
                    if parts[2] != "1":
                        self.failures[parts[5]] = self.failures.get(parts[5], 0) + 1
                if fut is not None:
                    fut.set_result((parts[2] == "1", float(parts[3]), int(parts[4])))
        with self._lock:
            jobs, self._jobs = self._jobs, {}
        for fut in jobs.values():
            fut.set_exception(RuntimeError("prober exited"))

    def start(self, ip: str, mode: str = "ok", arg: str = "-", timeout: float = 30.0,
              interval: float = 0.005, port: int = 80) -> Future[tuple[bool, float, int]]:
        """Start waiting; the future gives (answered, monotonic time, probes made)."""
        fut: Future[tuple[bool, float, int]] = Future()
        with self._lock:
            self._next += 1
            job = str(self._next)
            self._jobs[job] = fut
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{job}\t{ip}\t{port}\t{mode}\t{arg}\t{timeout}\t{interval}\n")
        self.proc.stdin.flush()
        return fut

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        stop_process(self.proc)
