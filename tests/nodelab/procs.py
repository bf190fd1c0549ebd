"""Process helpers of the node lab: free TCP ports, bounded waits, the environment of the
``lbaas`` processes it starts, starting a command in a cgroup with its output to a log file, and
reading what a log file gained since an offset.

Used by every module of :mod:`tests.nodelab`. Everything here is bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.nodelab.cgroups import Cgroup

T = TypeVar("T")
R = TypeVar("R", bound="Repeating")

LBAAS = str(Path(sys.executable).with_name("lbaas"))
"""The ``lbaas`` command of this virtualenv."""

PYCACHE = Path(tempfile.gettempdir()) / "lbaas-nodelab-pycache"

# rabbitmqctl's own Erlang distribution listens on the first free port of 35672-35682
# (rabbitmq-env's RABBITMQ_CTL_DIST_PORT_MIN/MAX): a broker port there collides with it.
_RESERVED_PORTS = range(35672, 35683)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at ``host`` now (outside rabbitmqctl's range)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in _RESERVED_PORTS:
            return port


def wait_until(check: Callable[[], T | None], timeout: float, what: str,
               interval: float = 0.1, alive: Callable[[], str | None] | None = None) -> T:
    """Call ``check`` until it returns something truthy (returned). Exceptions count as "not
    yet". ``alive`` returns a reason to give up early (a process that exited). TimeoutError
    after ``timeout`` seconds, naming ``what`` and the last error or value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = check()
        except Exception as exc:  # the condition may raise while things start
            value, last = None, exc
        else:
            if value:
                return value
            last = value
        if alive is not None:
            reason = alive()
            if reason:
                raise RuntimeError(f"gave up waiting for {what}: {reason}")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def process_start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot), None if it does not exist:
    with the pid, it names a process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(process: tuple[int, int | None]) -> bool:
    """True when (pid, start time) still runs (and is not a zombie)."""
    pid, start = process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0] != "Z" and int(fields[19]) == start


def child_env(**extra: str) -> dict[str, str]:
    """The environment of the ``lbaas`` processes: bytecode cached in a private directory, even
    where PYTHONDONTWRITEBYTECODE is set (compiling every import costs seconds per start on a
    busy 2-core machine, and the lab starts several)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra)
    return env


def spawn_logged(argv: list[str], log: Path, cgroup: Cgroup | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` (inside ``cgroup`` from its first instruction) with stdout and stderr
    appended to ``log``; stdin is /dev/null. The caller stops and reaps it."""
    command = cgroup.wrap(argv) if cgroup is not None else argv
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env or child_env())


def reap(proc: subprocess.Popen[Any] | None, timeout: float = 10.0) -> None:
    """Wait for ``proc`` (already killed) so that it leaves no zombie."""
    if proc is not None:
        proc.wait(timeout)


def log_size(log: Path) -> int:
    try:
        return log.stat().st_size
    except FileNotFoundError:
        return 0


def log_since(log: Path, offset: int) -> str:
    """What ``log`` gained after byte ``offset``."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def tail(log: Path, size: int = 3000) -> str:
    """The last ``size`` characters of ``log``."""
    return log_since(log, max(0, log_size(log) - size))


def run(argv: list[str], timeout: float = 60.0, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion; RuntimeError with its output when it fails."""
    # Never the caller's stdin: rabbitmqctl (Erlang) reads it all, eating the commands
    # typed to ``python -m tests.nodelab``.
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({done.returncode}): "
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


class Repeating:
    """Calls :meth:`step` every ``interval`` seconds on a thread while its ``with`` block runs
    (the first call at once). A call that raises is dropped: the next one tries again.
    Subclasses say what a step does (watchers and traffic of the lab's tests and benchmarks)."""

    def __init__(self, interval: float, name: str) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def step(self) -> None:
        raise NotImplementedError

    def __enter__(self: R) -> R:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.step()
            self._stop.wait(self.interval)
