"""An open-loop paced client: a new connection through a VIP every 10 ms, whatever became of the
earlier ones, each outcome recorded with the moment it started. Run as a separate process in a
client namespace (so the benchmark's own threads do not delay it), it reports every attempt on
a line that a reader thread collects; times are ``time.monotonic()`` (CLOCK_MONOTONIC is shared
by all processes).

Why not ``tests.nodelab.pairs.Paced`` as it is: it makes one attempt at a time, 10 ms after the
previous one *ended*. While the VIP is unreachable each attempt waits its whole timeout (1 s), so
it tries once a second and an outage can only be measured in steps of about a second (a 1.1 s
takeover reads as 1.0 or 2.0 s). This client keeps starting one every ``interval`` (up to
``timeout / interval`` attempts in flight), so the outage is known to 10 ms and "failed
requests" counts what clients arriving at 100 new connections per second would have lost.

:class:`OpenPaced` reads like ``Paced``: ``outcomes`` [(start, body or None)], ``failed``,
``outage()``, ``served_after()``, ``failures_after()``, plus ``errors`` (why attempts failed,
counted). An attempt fails when it gets no ``200`` answer within ``timeout`` seconds of its
start (connect, request and answer together): with a timeout of 3 s a SYN lost once and
retransmitted after 1 s still succeeds.

Used by ``bench.takeover`` (the lbaas pair on the node lab and the hand-built keepalived pair).
"""

from __future__ import annotations

import contextlib
import select
import subprocess
import sys
import textwrap
import threading
from typing import Any

from tests.netlab import Host

CLIENT = textwrap.dedent(
    r"""
    import errno, os, selectors, socket, sys, time

    vip, port = sys.argv[1], int(sys.argv[2])
    interval, timeout = float(sys.argv[3]), float(sys.argv[4])
    REQUEST = b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n"
    sel = selectors.DefaultSelector()
    pending = {}  # socket -> [start, deadline, received, request sent]
    lines = []

    def why(code):
        return errno.errorcode.get(code, str(code))

    def done(start, now, body, reason):
        lines.append(f"R {start:.6f} {now:.6f} {1 if body is not None else 0} {reason} "
                     f"{body if body is not None else '-'}\n")

    def begin(now):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex((vip, port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            done(now, now, None, why(code))
            return
        pending[sock] = [now, now + timeout, bytearray(), False]
        sel.register(sock, selectors.EVENT_WRITE)

    def end(sock, now, body, reason):
        start = pending.pop(sock)[0]
        sel.unregister(sock)
        sock.close()
        done(start, now, body, reason)

    def answer(raw):
        head, _, body = bytes(raw).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1."):
            return None, "not-http"
        if head[9:12] != b"200":
            return None, "http" + head[9:12].decode(errors="replace")
        return body.decode(errors="replace").strip().replace(" ", "_") or "empty", "-"

    sel.register(0, selectors.EVENT_READ)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    stopping = False
    next_start = time.monotonic()
    while True:
        now = time.monotonic()
        if not stopping and now >= next_start:
            begin(now)
            next_start += interval
            if now - next_start > interval:  # starved: carry on from now, no burst
                next_start = now + interval
        for sock, state in list(pending.items()):
            if now >= state[1]:
                end(sock, now, None, "timeout")
        if lines:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
            lines.clear()
        if stopping and not pending:
            break
        wake = min([state[1] for state in pending.values()]
                   + ([] if stopping else [next_start]))
        for key, _ in sel.select(max(0.0, wake - time.monotonic())):
            now = time.monotonic()
            if key.fileobj == 0:
                data = os.read(0, 1024)
                if not data or b"STOP" in data:
                    stopping = True
                    sel.unregister(0)
                continue
            sock = key.fileobj
            state = pending[sock]
            if not state[3]:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    end(sock, now, None, why(code))
                    continue
                try:
                    sock.send(REQUEST)
                except OSError as exc:
                    end(sock, now, None, why(exc.errno))
                    continue
                state[3] = True
                sel.modify(sock, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(65536)
            except OSError as exc:
                end(sock, now, None, why(exc.errno))
                continue
            if data:
                state[2] += data
                continue
            body, reason = answer(state[2])
            end(sock, now, body, reason)
    sys.stdout.write("END\n")
    sys.stdout.flush()
    """
)


class OpenPaced:
    """A new connection to ``vip``:``port`` from ``host`` every ``interval`` seconds while the
    ``with`` block runs (see the module's docstring)."""

    def __init__(self, host: Host, vip: str, timeout: float = 1.0, interval: float = 0.01,
                 port: int = 80) -> None:
        self.host, self.vip, self.port = host, vip, port
        self.timeout, self.interval = timeout, interval
        self._lock = threading.Lock()
        self._attempts: list[tuple[float, float, str | None, str]] = []
        self.errors: dict[str, int] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self.ended = False

    def __enter__(self) -> OpenPaced:
        argv = [*self.host.exec_argv(), sys.executable, "-c", CLIENT, self.vip, str(self.port),
                str(self.interval), str(self.timeout)]
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, bufsize=1)
        try:
            assert self._proc.stdout is not None
            ready, _, _ = select.select([self._proc.stdout], [], [], 15)
            if not ready or self._proc.stdout.readline().strip() != "READY":
                raise RuntimeError("the paced client did not start")
        except BaseException:
            self._kill()
            raise
        self._reader = threading.Thread(target=self._read, name="bench-paced", daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.write("STOP\n")
            proc.stdin.flush()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(self.timeout + 10)
        self._kill()
        if self._reader is not None:
            self._reader.join(10)

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        with contextlib.suppress(ValueError, OSError):  # closed by __exit__
            for line in self._proc.stdout:
                parts = line.split()
                if parts == ["END"]:
                    self.ended = True
                    continue
                if len(parts) != 6 or parts[0] != "R":
                    continue
                body = parts[5] if parts[3] == "1" else None
                with self._lock:
                    self._attempts.append((float(parts[1]), float(parts[2]), body, parts[4]))
                    if body is None:
                        self.errors[parts[4]] = self.errors.get(parts[4], 0) + 1

    # -- what happened (as tests.nodelab.pairs.Paced) ------------------------------------------

    @property
    def attempts(self) -> list[tuple[float, float, str | None, str]]:
        """(start, end, body or None, why it failed or "-"), in the order they started."""
        with self._lock:
            return sorted(self._attempts)

    @property
    def outcomes(self) -> list[tuple[float, str | None]]:
        return [(start, body) for start, _, body, _ in self.attempts]

    @property
    def failed(self) -> int:
        return sum(1 for _, body in self.outcomes if body is None)

    def outage(self, since: float | None = None) -> float | None:
        """Seconds from the first failed attempt (started after ``since``, if given) to the
        first success started after it; None when nothing failed or nothing succeeded after."""
        outcomes = self.outcomes
        first = next((t for t, body in outcomes
                      if body is None and (since is None or t >= since)), None)
        if first is None:
            return None
        after = next((t for t, body in outcomes if t > first and body is not None), None)
        return None if after is None else after - first

    def first_failure(self, since: float | None = None) -> float | None:
        return next((t for t, body in self.outcomes
                     if body is None and (since is None or t >= since)), None)

    def served_after(self, moment: float) -> bool:
        return any(body is not None for t, body in self.outcomes if t > moment)

    def failures_after(self, moment: float) -> int:
        return sum(1 for t, body in self.outcomes if t > moment and body is None)

    def failures_between(self, start: float, end: float) -> int:
        return sum(1 for t, body in self.outcomes if start <= t < end and body is None)

    def recovered_after(self, moment: float) -> float | None:
        """The start of the first success after the first failure after ``moment``."""
        first = self.first_failure(moment)
        if first is None:
            return None
        return next((t for t, body in self.outcomes if t > first and body is not None), None)

    def summary(self) -> dict[str, Any]:
        return {"attempts": len(self.outcomes), "failed": self.failed,
                "errors": dict(self.errors)}
