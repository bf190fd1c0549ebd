"""The ``lbaas server`` processes of the node lab: any number sharing one database and the lab's
broker, each on its own port of 127.0.0.1 (they run in the root namespace), its own config file
(``server-<i>.conf``) and its own cgroup (so :meth:`Servers.kill` takes the uvicorn supervisor
and all its workers at once). Also the schema upgrade and the tokens (``lbaas db upgrade``,
``lbaas token create``), run before the servers start.

Used by :class:`tests.nodelab.lab.NodeLab`; tests reach the servers through :meth:`Servers.url`
(and :class:`tests.nodelab.api.LabApi`).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.nodelab.cgroups import Cgroup
from tests.nodelab.procs import (
    LBAAS,
    child_env,
    free_port,
    reap,
    run,
    spawn_logged,
    tail,
    wait_until,
)


class Servers:
    """``count`` servers, numbered from 1, with their config files already written."""

    def __init__(self, directory: Path, configs: list[Path], cgroup: Cgroup) -> None:
        self.directory = directory
        self.configs = configs
        self.ports = [free_port() for _ in configs]
        self._groups = [cgroup.child(f"server-{i}") for i in self.numbers]
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def numbers(self) -> range:
        return range(1, len(self.configs) + 1)

    def url(self, i: int) -> str:
        """The base URL of server ``i`` (1-based)."""
        return f"http://127.0.0.1:{self.ports[i - 1]}"

    def urls(self) -> list[str]:
        return [self.url(i) for i in self.numbers]

    def log(self, i: int) -> Path:
        return self.directory / f"server-{i}.log"

    def config(self, i: int) -> Path:
        return self.configs[i - 1]

    # -- before the servers ------------------------------------------------------------------

    def upgrade_schema(self) -> None:
        """``lbaas db upgrade`` on the shared database."""
        run([LBAAS, "db", "upgrade", "-c", str(self.configs[0])], timeout=180, env=child_env())

    def create_token(self, project: str, role: str, name: str) -> str:
        """``lbaas token create``: a new token's secret."""
        out = run([LBAAS, "token", "create", "-c", str(self.configs[0]), "--project", project,
                   "--role", role, "--name", name], timeout=180, env=child_env()).stdout
        return out.strip().splitlines()[-1]

    # -- the processes -----------------------------------------------------------------------

    def pid(self, i: int) -> int | None:
        """The process id of server ``i`` while it runs (the cgroup wrapper execs it)."""
        proc = self._procs.get(i)
        return proc.pid if proc is not None and proc.poll() is None else None

    def running(self, i: int) -> bool:
        proc = self._procs.get(i)
        return proc is not None and proc.poll() is None

    def spawn(self, i: int) -> None:
        """Start server ``i`` (does not wait)."""
        if self.running(i):
            raise RuntimeError(f"server {i} runs already")
        reap(self._procs.pop(i, None))
        group = self._groups[i - 1].create()
        with open(self.log(i), "ab") as out:
            out.write(f"\n===== server start {time.strftime('%H:%M:%S')} =====\n".encode())
        self._procs[i] = spawn_logged(
            [LBAAS, "server", "-c", str(self.config(i)), "--port", str(self.ports[i - 1]),
             "--host", "127.0.0.1"], self.log(i), group, child_env())

    def wait_ready(self, i: int, timeout: float = 90.0) -> None:
        """Wait until server ``i`` answers ``/healthcheck``."""

        def exited() -> str | None:
            proc = self._procs.get(i)
            if proc is not None and proc.poll() is not None:
                return f"server {i} exited with {proc.returncode}: {tail(self.log(i))}"
            return None

        wait_until(lambda: httpx.get(self.url(i) + "/healthcheck", timeout=2).status_code
                   == 200, timeout, f"server {i} to answer", interval=0.2, alive=exited)

    def start(self, i: int, timeout: float = 90.0) -> float:
        """Start server ``i`` and wait until it answers; returns the seconds it took."""
        started = time.monotonic()
        self.spawn(i)
        self.wait_ready(i, timeout)
        return time.monotonic() - started

    def kill(self, i: int) -> None:
        """SIGKILL server ``i`` and all its workers (a crash)."""
        self._groups[i - 1].kill()
        reap(self._procs.pop(i, None))

    def stop(self, i: int, timeout: float = 30.0) -> None:
        """SIGTERM server ``i`` (a clean stop); SIGKILL what lingers."""
        proc = self._procs.pop(i, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        self._groups[i - 1].kill()
        reap(proc)

    def close(self) -> None:
        """Kill every server and remove their groups."""
        for i in self.numbers:
            try:
                self.kill(i)
            finally:
                self._groups[i - 1].remove()
