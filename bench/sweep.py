"""Removing load balancers and leftovers without the agent: :func:`undeploy_state` stops the
haproxy and removes the namespace of every load balancer under a state directory (as the driver
would, in parallel); :func:`sweep_stale` removes what benchmark runs killed with SIGKILL left
(haproxies, ``qlbaas-`` namespaces, lab processes and namespaces, private brokers with their
cgroups, work directories), recognised by an ``owner.pid`` whose process is gone.

Used by ``bench.stack``: sweeping before a stack is built, undeploying when it is torn down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.lab import TMP_PREFIX
from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.interface import vip_plug
from tests.netlab import sweep

LOG = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def undeploy_state(state_path: Path, workers: int = 8) -> int:
    """Stop every haproxy and remove every namespace of the load balancers under
    ``state_path/lbaas`` (as the driver does), in parallel. Returns how many."""
    lbs_dir = state_path / "lbaas"
    try:
        ids = sorted(entry.name for entry in lbs_dir.iterdir() if entry.is_dir())
    except FileNotFoundError:
        return 0
    _undeploy_ids(state_path, ids, workers)
    return len(ids)


def _undeploy_one(state_path: Path, lb_id: str) -> None:
    proc = HaproxyProcess(lb_id, state_path, exec_prefix=vip_plug.netns_exec_argv(lb_id))
    try:
        proc.stop(timeout=2.0)
    finally:
        vip_plug.unplug_vip(lb_id)
        proc.remove_state()


def _undeploy_ids(state_path: Path, ids: Sequence[str], workers: int) -> None:
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-undeploy") as pool:
        for fut in [pool.submit(_undeploy_one, state_path, lb_id) for lb_id in ids]:
            try:
                fut.result()
            except Exception as exc:  # keep going: every other one must still go
                errors.append(exc)
    if errors:
        LOG.warning("%d load balancers failed to undeploy; first: %s", len(errors), errors[0])


def _kill_matching(needle: str) -> list[int]:
    """SIGKILL every process whose command line contains ``needle`` (a work directory path)."""
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)
                killed.append(int(entry))
    return killed


def _kill_in_namespace(name: str) -> None:
    """SIGKILL every process in namespace ``name`` (``ip netns pids``)."""
    done = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                          check=False)
    for pid in done.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def sweep_stale() -> list[str]:
    """Remove what benchmark runs killed with SIGKILL left: their haproxies, ``qlbaas-``
    namespaces (found through their state directories), the cgroup of their private broker
    (``bench.broker``: broker and epmd killed), the processes of their lab (by work directory
    in the command line and by namespace) and lab namespaces (``lab.tag`` file), then their
    temporary directories. Runs whose owner process lives are left alone."""
    swept: list[str] = []
    for workdir in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        try:
            pid = int((workdir / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(pid):
            continue
        count = undeploy_state(workdir / "state")
        from bench.broker import sweep_group  # heavy (tests.nodelab): only for a dead run

        try:
            group = sweep_group(workdir)  # a private broker and its epmd (bench.broker)
        except Exception:  # the rest of this run's leftovers must still go
            LOG.exception("removing the broker cgroup of %s failed", workdir)
        else:
            if group:
                swept.append(group)
        _kill_matching(str(workdir))
        with contextlib.suppress(OSError):
            tag = (workdir / "lab.tag").read_text().strip()
            if re.fullmatch(r"[0-9a-f]{4}", tag):
                from lbaas.drivers.interface.namespaces import list_namespaces

                for name in list_namespaces():
                    if name.startswith(f"lbt{tag}"):
                        _kill_in_namespace(name)
                swept += sweep(f"lbt{tag}")
        shutil.rmtree(workdir, ignore_errors=True)
        swept.append(f"{workdir} ({count} load balancers)")
    return swept
