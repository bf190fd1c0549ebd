"""Where the files of one copy's keepalived live.

They share the load balancer's state directory ``<state_path>/lbaas/<lb_id>/`` (mode 0700, made
by whichever of haproxy and keepalived comes first) with haproxy's files, under names of their
own: ``keepalived.conf`` (and the candidate ``keepalived.conf.new``, a refused
``keepalived.conf-failed``), the pid files of keepalived's parent (``keepalived.pid``) and of its
VRRP child (``keepalived-vrrp.pid``), and ``vrrp.state``, which the notify script rewrites at
each VRRP state change.

The two scripts keepalived runs are shared by every load balancer of the host and live in
``<state_path>/keepalived-scripts/``: not under ``<state_path>/lbaas/``, where every directory is
taken for a load balancer's state directory. keepalived's ``enable_script_security`` refuses a
script unless it and every directory above it belong to root and are not writable by others
(:func:`insecure_component` says which one is not).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from lbaas.drivers.haproxy.state_paths import StatePaths

SCRIPTS_DIRECTORY = "keepalived-scripts"
CHECK_SCRIPT = "lbaas-haproxy-check.sh"
NOTIFY_SCRIPT = "lbaas-vrrp-notify.sh"


@dataclass(frozen=True)
class KeepalivedPaths:
    """The files of one load balancer's keepalived (``lb_id`` must already be checked)."""

    directory: Path
    scripts_directory: Path
    haproxy_socket: Path
    """The stats socket of this copy's haproxy, which the check script asks."""

    @classmethod
    def for_load_balancer(cls, state_path: str | os.PathLike[str], lb_id: str) -> KeepalivedPaths:
        haproxy = StatePaths.for_load_balancer(state_path, lb_id)
        return cls(
            directory=haproxy.directory,
            scripts_directory=Path(state_path).absolute() / SCRIPTS_DIRECTORY,
            haproxy_socket=haproxy.stats_socket,
        )

    @property
    def config(self) -> Path:
        return self.directory / "keepalived.conf"

    @property
    def new_config(self) -> Path:
        return self.directory / "keepalived.conf.new"

    @property
    def failed_config(self) -> Path:
        return self.directory / "keepalived.conf-failed"

    @property
    def pid(self) -> Path:
        return self.directory / "keepalived.pid"

    @property
    def vrrp_pid(self) -> Path:
        return self.directory / "keepalived-vrrp.pid"

    @property
    def state(self) -> Path:
        return self.directory / "vrrp.state"

    @property
    def check_script(self) -> Path:
        return self.scripts_directory / CHECK_SCRIPT

    @property
    def notify_script(self) -> Path:
        return self.scripts_directory / NOTIFY_SCRIPT

    def own_files(self) -> tuple[Path, ...]:
        """Every file of this load balancer's keepalived (what :meth:`remove_state` deletes)."""
        return (self.config, self.new_config, self.failed_config, self.pid, self.vrrp_pid,
                self.state)


def insecure_component(path: Path) -> Path | None:
    """The first of ``path`` and the directories above it that keepalived's script security
    refuses (owned by someone else than root; a file, or a directory without the sticky bit,
    writable by a non-root group or by everyone), or None when all are safe. Mirrors keepalived
    2.2's ``check_security`` (lib/notify.c). A missing component is returned too."""
    path = Path(path).absolute()
    for component in (*reversed(path.parents), path):
        try:
            info = os.lstat(component)
        except OSError:
            return component
        checked = stat.S_ISREG(info.st_mode) or (
            stat.S_ISDIR(info.st_mode) and not info.st_mode & stat.S_ISVTX
        )
        writable_by_others = (info.st_gid != 0 and info.st_mode & stat.S_IWGRP) or (
            info.st_mode & stat.S_IWOTH
        )
        if info.st_uid != 0 or (checked and writable_by_others):
            return component
    return None
