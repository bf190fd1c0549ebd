"""Private, persistent mount namespaces: what makes a simulated network node's ``/run/netns`` and
``/run/lbaas`` its own, so that the ``qlbaas-*`` namespaces an agent creates are visible only in
its node and no node's orphan sweep ever touches another's.

A mount namespace lives as long as a process is in it or a file is bind-mounted to it: the lab
pins each one on a file ``<run dir>/<name>.mnt``. The run dir itself is a private bind mount
(a namespace file may only be bind-mounted on a private mount). Inside, ``/run/netns`` and
``/run/lbaas`` are fresh tmpfs mounts. Programs enter with ``nsenter --mount=<pin>``
(:func:`enter_argv`).

Used by :class:`tests.nodelab.node.Node` (one per node) and the sweep of a killed run
(:mod:`tests.nodelab.sweep`), which need nothing but the pin file to undo it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from lbaas.drivers.interface.namespaces import namespace_path
from tests.nodelab.procs import run

PRIVATE_DIRS = ("/run/netns", "/run/lbaas")

_SETUP = " && ".join(f"mkdir -p {d} && mount -t tmpfs -o mode=755 tmpfs {d}"
                     for d in PRIVATE_DIRS)


def mounted(path: Path) -> bool:
    """True when something is mounted at ``path``."""
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        return any(line.split()[4] == target for line in info)


def prepare_run_dir(run_dir: Path) -> None:
    """Make ``run_dir`` (under /run) a private bind mount of itself, ready to hold pins."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if not mounted(run_dir):
        run(["mount", "--bind", str(run_dir), str(run_dir)])
    run(["mount", "--make-private", str(run_dir)])


def release_run_dir(run_dir: Path) -> None:
    """Unmount and remove ``run_dir`` (its pins must be released first)."""
    if mounted(run_dir):
        run(["umount", str(run_dir)])
    with contextlib.suppress(FileNotFoundError):
        for entry in run_dir.iterdir():
            entry.unlink()
        run_dir.rmdir()


def create(pin: Path) -> None:
    """A new mount namespace pinned on file ``pin`` (inside a prepared run dir), with fresh
    tmpfs on ``/run/netns`` and ``/run/lbaas``."""
    pin.touch()
    run(["unshare", f"--mount={pin}", "--propagation", "private", "sh", "-c", _SETUP])


def enter_argv(pin: Path, netns: str | None = None) -> list[str]:
    """Command prefix that runs a program in the mount namespace of ``pin`` and, if given, the
    named network namespace ``netns`` (of the root mount namespace: nsenter opens both before
    it enters either)."""
    argv = ["nsenter", f"--mount={pin}"]
    if netns is not None:
        argv.append(f"--net={namespace_path(netns)}")
    return [*argv, "--"]


def netns_names(pin: Path) -> list[str]:
    """The named network namespaces inside the mount namespace of ``pin``."""
    out = run([*enter_argv(pin), "ls", "-1", "/run/netns"]).stdout
    return sorted(out.split())


def delete_all_netns(pin: Path) -> None:
    """Delete every named network namespace inside the mount namespace of ``pin``."""
    if netns_names(pin):
        run([*enter_argv(pin), "ip", "-all", "netns", "delete"])


def release(pin: Path) -> None:
    """Delete every named network namespace inside, then unpin the mount namespace (it goes
    away with its tmpfs once no process is in it) and remove the pin file."""
    if mounted(pin):
        delete_all_netns(pin)
        run(["umount", str(pin)])
    with contextlib.suppress(FileNotFoundError):
        pin.unlink()
