"""A private RabbitMQ broker for the benchmarks that run the control plane on a real message bus
(``bench.transports``): ``tests.nodelab.rabbitmq.RabbitMQ`` (Debian's ``rabbitmq-server`` with
its own ``epmd``, data directory, node name and ports) on ``127.0.0.1``, its processes in a
cgroup of their own; :func:`private_broker` starts it (timed) and removes all of it on the way
out, also on errors, Ctrl-C and SIGTERM (a Ctrl-C during the teardown waits until it is done).

The cgroup is ``<cgroup2 mount>/lbaas-bench-<tag>``, not the node lab's ``lbaas-lab-<tag>``
(``tests.nodelab.cgroups.lab_group``): a node lab that starts meanwhile (the e2e tests) sweeps
every ``lbaas-lab-`` group that has no run directory of its own, which would kill this broker in
the middle of a run. The group's path is written into the broker's work directory (a
``/tmp/lbaas-bench-dp-*`` directory with an ``owner.pid``), so that a run killed with SIGKILL is
swept by the next benchmark run like the rest of its leftovers (``bench.sweep``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from bench.lab import make_workdir, shielded
from tests.nodelab import cgroups, rabbitmq
from tests.nodelab.cgroups import Cgroup
from tests.nodelab.rabbitmq import RabbitMQ

GROUP_PREFIX = "lbaas-bench-"
"""``<cgroup2 mount>/lbaas-bench-<tag>``: the group of one benchmark's broker."""
CGROUP_FILE = "cgroup"
"""The file in the work directory that names the group (for ``bench.sweep``)."""
ADDRESS = "127.0.0.1"
ATTEMPTS = 3

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Broker:
    """A running private broker."""

    rabbit: RabbitMQ
    cgroup: Cgroup
    workdir: Path
    start_s: float
    """Seconds from spawning epmd until ``rabbitmqctl wait`` said the broker accepts work (the
    attempt that succeeded)."""
    attempts: int
    """Starts it took (see :func:`private_broker`)."""
    failed_pids: tuple[tuple[int, int | None], ...] = ()
    """(pid, start time) of the processes of attempts that failed (stopped since)."""

    @property
    def transport_url(self) -> str:
        return self.rabbit.transport_url

    def cpu_seconds(self) -> float:
        """CPU time used so far by every process of the broker's group (epmd, the Erlang VM
        and its helpers): ``usage_usec`` of the group's ``cpu.stat``; 0 when it is not there."""
        try:
            for line in (self.cgroup.path / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        except (OSError, ValueError):
            pass
        return 0.0

    def pids(self) -> list[tuple[int, int | None]]:
        """(pid, start time) of every epmd and Erlang VM it ran, failed attempts included."""
        return [*self.failed_pids, *self.rabbit.pids_seen]


def check_broker_environment() -> None:
    """Refuse early (SystemExit with a message) when the broker cannot run here."""
    if not rabbitmq.installed():
        raise SystemExit(f"RabbitMQ is not installed ({rabbitmq.RABBIT_BIN}/rabbitmq-server; "
                         "Debian package rabbitmq-server)")
    if not shutil.which(rabbitmq.EPMD):
        raise SystemExit("missing tool: epmd (Debian package erlang-base)")
    if not cgroups.available():
        raise SystemExit("no cgroup2 hierarchy is mounted (the broker runs in a cgroup)")


def sweep_group(workdir: Path) -> str | None:
    """Remove the broker group a dead run named in ``workdir`` (killing what still runs in it);
    returns its path, or None when there was none. Only ``lbaas-bench-`` groups are touched."""
    try:
        path = Path((workdir / CGROUP_FILE).read_text().strip())
    except OSError:
        return None
    if not path.name.startswith(GROUP_PREFIX) or path.parent != cgroups.cgroup2_mount():
        return None
    group = Cgroup(path)
    if not group.exists():
        return None
    group.remove()
    return str(path)


@contextlib.contextmanager
def private_broker() -> Iterator[Broker]:
    """Start a private broker on 127.0.0.1 and yield it; stop it, its epmd and every process of
    its cgroup, remove the group and the work directory on the way out.

    A broker that exits while starting is started again with new ports, up to
    :data:`ATTEMPTS` times: its ports are chosen free (``free_port``) seconds before the Erlang
    VM binds them, and on a busy host something else may take one meanwhile (seen once in
    about ten starts: ``dist_port_already_used``)."""
    check_broker_environment()
    with contextlib.ExitStack() as stack:
        workdir = make_workdir()
        stack.callback(shutil.rmtree, workdir, True)
        tag = secrets.token_hex(2)
        group = Cgroup(cgroups.cgroup2_mount() / f"{GROUP_PREFIX}{tag}")
        (workdir / CGROUP_FILE).write_text(str(group.path))
        group.create()
        stack.callback(group.remove)
        try:
            failed: list[tuple[int, int | None]] = []
            for attempt in range(1, ATTEMPTS + 1):
                rabbit = RabbitMQ(workdir / f"rabbitmq-{attempt}", ADDRESS, group,
                                  f"bench-{tag}-{attempt}")
                stack.callback(rabbit.close)
                try:
                    start_s = rabbit.start()
                    break
                except RuntimeError as exc:
                    if attempt == ATTEMPTS:
                        raise
                    LOG.warning("RabbitMQ did not start (attempt %d of %d), trying new ports: "
                                "%s", attempt, ATTEMPTS, str(exc).splitlines()[0])
                    rabbit.close()
                    failed += rabbit.pids_seen
            yield Broker(rabbit=rabbit, cgroup=group, workdir=workdir, start_s=start_s,
                         attempts=attempt, failed_pids=tuple(failed))
        finally:
            with shielded():
                stack.close()
