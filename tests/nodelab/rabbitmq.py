"""A private RabbitMQ broker for the node lab (Debian's ``rabbitmq-server``, not the system
service): its own data directory, node name, ports and ``epmd``, all started as processes of the
lab's cgroup and stopped with it.

RabbitMQ's scripts start a machine-wide ``epmd -daemon`` that outlives the broker unless one
answers already: the lab runs its own ``epmd -port <free port>`` in the foreground and points the
broker and ``rabbitmqctl`` at it with ``ERL_EPMD_PORT``. The data directory is kept across
:meth:`RabbitMQ.restart` (what the service-fault tests do under load).

Used by :class:`tests.nodelab.lab.NodeLab`; its :attr:`RabbitMQ.transport_url` goes into every
server's and agent's config.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
import time
from pathlib import Path

from tests.nodelab.cgroups import Cgroup
from tests.nodelab.procs import (
    free_port,
    process_start_time,
    reap,
    spawn_logged,
    tail,
    wait_until,
)

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
EPMD = "epmd"


def installed() -> bool:
    return (RABBIT_BIN / "rabbitmq-server").exists()


class RabbitMQ:
    """One broker listening on ``address:port``, with user ``lab`` and a random password."""

    def __init__(self, directory: Path, address: str, cgroup: Cgroup, tag: str) -> None:
        self.directory = directory
        self.address = address
        self.port = free_port(address)
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.user = "lab"
        self.password = secrets.token_hex(8)
        self.node_name = f"lbaas-lab-{tag}@localhost"
        self._cgroup = cgroup
        self._epmd_group = cgroup.child("epmd")
        self._broker_group = cgroup.child("rabbitmq")
        self._epmd: subprocess.Popen[bytes] | None = None
        self._broker: subprocess.Popen[bytes] | None = None
        self.pids_seen: list[tuple[int, int | None]] = []
        """Pids of every epmd and Erlang VM this broker ran (the lab checks they are gone)."""
        self._write_files()

    @property
    def transport_url(self) -> str:
        return f"rabbit://{self.user}:{self.password}@{self.address}:{self.port}/"

    @property
    def log(self) -> Path:
        """The broker's console output (its own logs are under ``log/``)."""
        return self.directory / "rabbitmq.out"

    @property
    def pid_file(self) -> Path:
        return self.directory / "rabbitmq.pid"

    def _write_files(self) -> None:
        for sub in ("mnesia", "log"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (self.directory / "enabled_plugins").write_text("[].\n")
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = {self.address}:{self.port}\n"
            "loopback_users = none\n"
            f"default_user = {self.user}\n"
            f"default_pass = {self.password}\n")
        (self.directory / "rabbitmq.conf").chmod(0o600)

    def env(self) -> dict[str, str]:
        """The environment of ``rabbitmq-server`` and ``rabbitmqctl``."""
        d = self.directory
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(d),
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.node_name,
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "ERL_EPMD_PORT": str(self.epmd_port),
            # A VM that dies writes its crash dump here, not into the caller's directory.
            "ERL_CRASH_DUMP": str(d / "erl_crash.dump"),
        }

    def running(self) -> bool:
        return self._broker is not None and self._broker.poll() is None

    def start(self, timeout: float = 90.0) -> float:
        """Start epmd (unless it runs) and the broker; wait until it accepts work. Returns the
        seconds it took."""
        started = time.monotonic()
        if self._epmd is None or self._epmd.poll() is not None:
            self._epmd_group.create()
            self._epmd = spawn_logged([EPMD, "-port", str(self.epmd_port)],
                                      self.directory / "epmd.out", self._epmd_group, self.env())
            self.pids_seen.append((self._epmd.pid, process_start_time(self._epmd.pid)))
        if self.running():
            return 0.0
        self._broker_group.create()
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        self._broker = spawn_logged([str(RABBIT_BIN / "rabbitmq-server")], self.log,
                                    self._broker_group, self.env())
        self._wait_ready(self._broker, timeout)
        beam = int(self.pid_file.read_text().strip())
        self.pids_seen.append((beam, process_start_time(beam)))
        return time.monotonic() - started

    def _wait_ready(self, broker: subprocess.Popen[bytes], timeout: float) -> None:
        """``rabbitmqctl wait`` until the broker accepts work; RuntimeError with the end of its
        log as soon as the broker exits instead (a port taken meanwhile: ``rabbitmqctl`` alone
        would wait for the whole ``timeout``)."""
        ctl = subprocess.Popen(
            [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node_name, "--timeout",
             str(int(timeout)), "wait", str(self.pid_file)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env())
        deadline = time.monotonic() + timeout + 10
        try:
            while ctl.poll() is None:
                if broker.poll() is not None:
                    raise RuntimeError(f"RabbitMQ exited while starting (status "
                                       f"{broker.returncode}):\n{tail(self.log)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"RabbitMQ did not start in {timeout:.0f} s:\n"
                                       f"{tail(self.log)}")
                time.sleep(0.1)
        finally:
            if ctl.poll() is None:
                ctl.kill()
            output = ctl.communicate()[0]
        if ctl.returncode != 0:
            raise RuntimeError(f"RabbitMQ did not start: rabbitmqctl wait failed "
                               f"({ctl.returncode}): {output[-2000:]}\n{tail(self.log)}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker (SIGTERM: a clean shutdown that keeps its data; SIGKILL of its
        whole group if it lingers). epmd keeps running for the next :meth:`start`."""
        broker = self._broker
        if broker is not None and broker.poll() is None:
            broker.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                broker.wait(timeout)
        self._broker_group.kill()
        reap(broker)
        self._broker = None
        # The Erlang VM's helpers (erl_child_setup, inet_gethost) leave with it.
        wait_until(lambda: not self._broker_group.pids(), 10, "the broker's processes to exit")

    def kill(self) -> None:
        """SIGKILL the broker and every process it started (a crash, not a shutdown)."""
        self._broker_group.kill()
        reap(self._broker)
        self._broker = None

    def restart(self, timeout: float = 90.0) -> float:
        """Stop and start the broker on the same data (queues, users); returns the seconds the
        start took."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop the broker and epmd and remove their groups (the data directory stays: it is in
        the lab's directory)."""
        try:
            self.stop()
        finally:
            self._epmd_group.remove()
            reap(self._epmd)
            self._epmd = None
            self._broker_group.remove()
