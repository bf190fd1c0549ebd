"""cgroup v2 groups of the node lab: one per simulated node (its agent and every haproxy the agent
starts), per server and for the broker, under one group per lab, so that "kill everything of
this node" is one write to ``cgroup.kill`` and nothing a lab started can escape its cleanup.

Used by :mod:`tests.nodelab.node`, :mod:`tests.nodelab.servers`, :mod:`tests.nodelab.rabbitmq`
and the sweep of a killed run (:mod:`tests.nodelab.sweep`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from pathlib import Path

LAB_GROUP_PREFIX = "lbaas-lab-"
"""``<cgroup2 mount>/lbaas-lab-<tag>``: the group of one lab."""


def cgroup2_mount() -> Path:
    """Where the cgroup2 hierarchy is mounted (``/sys/fs/cgroup/unified`` on a hybrid host,
    ``/sys/fs/cgroup`` on a unified one)."""
    with open("/proc/mounts", encoding="ascii") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) > 2 and fields[2] == "cgroup2":
                return Path(fields[1])
    raise RuntimeError("no cgroup2 hierarchy is mounted")


def available() -> bool:
    """True when a cgroup2 hierarchy is mounted."""
    try:
        cgroup2_mount()
    except (RuntimeError, OSError):
        return False
    return True


class Cgroup:
    """One cgroup v2 directory (created by :meth:`create`, removed by :meth:`remove`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"Cgroup({str(self.path)!r})"

    def child(self, name: str) -> Cgroup:
        return Cgroup(self.path / name)

    def create(self) -> Cgroup:
        self.path.mkdir(exist_ok=True)
        return self

    def exists(self) -> bool:
        return self.path.is_dir()

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started through a shell that first moves itself into this group and then
        execs it: the process and all it forks are in the group from their first instruction
        (moving a pid after ``Popen`` would let an early child escape)."""
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs"),
                *argv]

    def pids(self) -> list[int]:
        """Pids of this group and its descendants."""
        found: list[int] = []
        if not self.path.is_dir():
            return found
        for directory, _subdirs, files in os.walk(self.path):
            if "cgroup.procs" in files:
                with contextlib.suppress(FileNotFoundError):
                    text = Path(directory, "cgroup.procs").read_text()
                    found += [int(pid) for pid in text.split()]
        return found

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL every process of the group and its descendants; wait until they are gone."""
        if not self.path.is_dir():
            return
        kill_file = self.path / "cgroup.kill"
        if kill_file.exists():
            kill_file.write_text("1")
        else:  # before Linux 5.14: one by one (a fork may race; the loop below repeats)
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.pids():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self} still has processes {self.pids()}")
            if not kill_file.exists():
                for pid in self.pids():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self, timeout: float = 10.0) -> None:
        """Kill what still runs in the group, then remove it and its descendants."""
        if not self.path.is_dir():
            return
        self.kill(timeout)
        deadline = time.monotonic() + timeout
        for directory, _subdirs, _files in sorted(os.walk(self.path), key=lambda w: -len(w[0])):
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:  # EBUSY while the kernel finishes the exits
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)


def lab_group(tag: str) -> Cgroup:
    """The group of the lab with ``tag`` (not created)."""
    return Cgroup(cgroup2_mount() / f"{LAB_GROUP_PREFIX}{tag}")


def lab_groups() -> dict[str, Cgroup]:
    """Every lab group on this machine, by tag."""
    root = cgroup2_mount()
    return {entry.name[len(LAB_GROUP_PREFIX):]: Cgroup(entry) for entry in root.iterdir()
            if entry.is_dir() and entry.name.startswith(LAB_GROUP_PREFIX)}
