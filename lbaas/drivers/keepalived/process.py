"""Run one copy's keepalived: validate and install its config, start, reload, stop, read its role.

The agent builds one :class:`KeepalivedProcess` per ACTIVE_STANDBY load balancer it hosts (files
under ``<state_path>/lbaas/<lb_id>/``, see :mod:`.paths`; command prefix from the interface
driver's ``netns_exec_argv``) and calls :meth:`KeepalivedProcess.apply` with the text
:func:`lbaas.drivers.keepalived.config.render_keepalived_config` rendered. As for haproxy, a
config keepalived refuses never replaces the running one and an agent dying mid-apply leaves no
half-written file: the text goes to ``keepalived.conf.new`` (0600), ``keepalived -t`` must accept
it (run inside the namespace: it checks that ``eth0`` exists, and that the scripts are secure),
then it is renamed over ``keepalived.conf`` and keepalived is started, or reloaded with SIGHUP
when the text changed (keepalived keeps the instance's state across a reload).

keepalived runs inside the namespace (``nsenter --net``: under ``ip netns exec`` its
``vrrp_track_process`` fails, which is why the check is a script), VRRP only (``-P``), as a
daemon of its own (its own session, so the agent's death does not stop it), with its own pid
files (``-p`` parent, ``-r`` VRRP child) and logging to syslog (keepalived 2.2.7 as Debian
builds it has no log file option, and a daemon's console output goes to /dev/null). Whether it
runs is judged from this copy's pid file: the process must be keepalived started on this
copy's config, and live in this copy's namespace (PIDs are not isolated by network namespaces,
and a namespace deleted and made again is another namespace).

A keepalived killed with SIGKILL (both processes) leaves the VIP on ``eth0``: with the other
copy's keepalived taking over, two copies hold it. :meth:`KeepalivedProcess.release_vip` removes
it; the agent calls it when it finds keepalived dead, before starting it again.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from lbaas.core.amphora import VRRP_INTERFACE, Role
from lbaas.drivers.haproxy.process import Action
from lbaas.drivers.haproxy.state_paths import write_private
from lbaas.drivers.interface.namespaces import (
    NOT_FOUND,
    iproute,
    is_errno,
    namespace_exists,
    namespace_path,
    nsenter_argv,
)
from lbaas.drivers.interface.vip_plug import namespace_name
from lbaas.drivers.keepalived.config import checked_id
from lbaas.drivers.keepalived.paths import KeepalivedPaths, insecure_component
from lbaas.drivers.keepalived.scripts import install_scripts
from lbaas.drivers.pids import command_line, pid_alive, wait_gone

LOG = logging.getLogger(__name__)

__all__ = ["ROLES", "Action", "ConfigRejected", "KeepalivedError", "KeepalivedProcess"]

ROLES = {"MASTER": Role.MASTER, "BACKUP": Role.BACKUP, "FAULT": Role.FAULT}
"""State file content (written by the notify script) -> role. STOP (keepalived stopping) and
anything else mean "unknown"."""


class KeepalivedError(Exception):
    """keepalived could not be validated, started, reloaded or stopped; the message carries its
    output."""


class ConfigRejected(KeepalivedError):
    """``keepalived -t`` refused a config; :attr:`output` is keepalived's error text."""

    def __init__(self, output: str) -> None:
        super().__init__(f"keepalived rejected the configuration: {output.strip()}")
        self.output = output


def _environment() -> dict[str, str]:
    """The agent's environment without systemd's notify socket (keepalived would otherwise
    report its own start and stop to the agent's unit)."""
    return {key: value for key, value in os.environ.items() if key != "NOTIFY_SOCKET"}


class KeepalivedProcess:
    """The keepalived of one copy of a load balancer: its files, processes and VRRP state.

    Not thread-safe: the agent runs one change at a time per load balancer.
    """

    def __init__(
        self,
        lb_id: str,
        state_path: str | os.PathLike[str],
        exec_prefix: Sequence[str] | None = None,
        keepalived_bin: str = "keepalived",
        *,
        namespace: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        """``namespace``: the network namespace keepalived runs in (default ``qlbaas-<lb_id>``);
        ``exec_prefix`` runs a command in it (default ``nsenter --net=<namespace> --``);
        ``timeout`` bounds each wait for keepalived to start or stop."""
        self.lb_id = checked_id(lb_id, "load balancer id")
        self.namespace = namespace or namespace_name(lb_id)
        self.paths = KeepalivedPaths.for_load_balancer(state_path, lb_id)
        self.exec_prefix = (
            list(exec_prefix) if exec_prefix is not None else nsenter_argv(self.namespace)
        )
        self.keepalived_bin = keepalived_bin
        self.timeout = timeout

    # -- processes -----------------------------------------------------------------------------

    def _own_pid(self, pid_file: Path, any_namespace: bool = False) -> int | None:
        """The pid in ``pid_file`` if that process is a live keepalived started on this copy's
        config and (unless ``any_namespace``) running in this copy's namespace."""
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        cmdline = command_line(pid)
        if not cmdline or (os.path.basename(cmdline[0])
                           != os.path.basename(os.fsencode(self.keepalived_bin))):
            return None
        if os.fsencode(self.paths.config) not in cmdline or not pid_alive(pid):
            return None
        if not any_namespace and not self._in_namespace(pid):
            return None
        return pid

    def _in_namespace(self, pid: int) -> bool:
        try:
            running = os.stat(f"/proc/{pid}/ns/net")
            wanted = os.stat(namespace_path(self.namespace))
        except OSError:
            return False
        return (running.st_dev, running.st_ino) == (wanted.st_dev, wanted.st_ino)

    def pid(self) -> int | None:
        """The pid of this copy's keepalived (its parent process), or None when not running."""
        return self._own_pid(self.paths.pid)

    def vrrp_pid(self) -> int | None:
        """The pid of this copy's keepalived VRRP child (holds the VIP), or None."""
        return self._own_pid(self.paths.vrrp_pid)

    def is_running(self) -> bool:
        """True when this copy's keepalived runs, inside this copy's namespace."""
        return self.pid() is not None

    def _all_pids(self) -> list[int]:
        """Parent and VRRP child of this copy's keepalived, in whatever namespace."""
        found = (self._own_pid(path, any_namespace=True)
                 for path in (self.paths.pid, self.paths.vrrp_pid))
        return [pid for pid in found if pid is not None]

    # -- state ---------------------------------------------------------------------------------

    def role(self) -> Role | None:
        """What this copy's VRRP instance last said it is (MASTER, BACKUP or FAULT), from the
        state file the notify script writes; None when keepalived does not run or has not said.
        """
        if not self.is_running():
            return None
        try:
            text = self.paths.state.read_text().strip()
        except OSError:
            return None
        return ROLES.get(text)

    def held_addresses(self, addresses: Iterable[str]) -> list[str]:
        """Those of ``addresses`` that ``eth0`` holds in the namespace now (none when there is
        no namespace)."""
        wanted = {ipaddress.ip_address(address) for address in addresses}
        if not namespace_exists(self.namespace):
            return []
        with iproute(self.namespace) as ipr:
            index = ipr.link_lookup(ifname=VRRP_INTERFACE)
            if not index:
                return []
            held = {
                ipaddress.ip_address(msg.get_attr("IFA_ADDRESS"))
                for msg in ipr.addr("dump", index=index[0])
                if msg["index"] == index[0]
            }
        return sorted(str(address) for address in wanted & held)

    def release_vip(self, vip_addresses: Iterable[str]) -> list[str]:
        """Remove ``vip_addresses`` (the VIP, and the source addresses) from ``eth0`` in the
        namespace where present; returns those removed.

        For a keepalived found dead: one killed with SIGKILL leaves them configured, and the
        other copy holds them too. Refused (KeepalivedError) while this copy's keepalived runs:
        they are its to move.
        """
        if self.is_running():
            raise KeepalivedError(
                f"keepalived of {self.lb_id} is running: it owns the VIP, not releasing it"
            )
        wanted = {ipaddress.ip_address(address) for address in vip_addresses}
        removed: list[str] = []
        if not namespace_exists(self.namespace):
            return removed
        with iproute(self.namespace) as ipr:
            index = ipr.link_lookup(ifname=VRRP_INTERFACE)
            if not index:
                return []
            for msg in ipr.addr("dump", index=index[0]):
                if msg["index"] != index[0]:
                    continue
                address = ipaddress.ip_address(msg.get_attr("IFA_ADDRESS"))
                if address not in wanted:
                    continue
                try:
                    ipr.addr("del", index=index[0], address=str(address),
                             prefixlen=msg["prefixlen"])
                except NetlinkError as exc:
                    if not is_errno(exc, *NOT_FOUND):
                        raise
                    continue
                removed.append(str(address))
        if removed:
            LOG.warning("released %s from %s (keepalived of %s is not running)",
                        ", ".join(removed), self.namespace, self.lb_id)
        return removed

    # -- apply ---------------------------------------------------------------------------------

    def ensure_directory(self) -> None:
        """The state directory (0700) and the shared scripts (0700 in a 0755 directory)."""
        self.paths.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.paths.directory, 0o700)
        install_scripts(self.paths)
        for script in (self.paths.check_script, self.paths.notify_script):
            unsafe = insecure_component(script)
            if unsafe is not None:
                raise KeepalivedError(
                    f"keepalived refuses to run {script}: {unsafe} must belong to root and not "
                    "be writable by anyone else (enable_script_security)"
                )

    def validate(self, config_path: Path) -> None:
        """``keepalived -t`` on ``config_path`` inside the namespace; ConfigRejected with its
        output if refused."""
        argv = [*self.exec_prefix, self.keepalived_bin, "-t", "-f", str(config_path)]
        try:
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                env=_environment(),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise KeepalivedError(f"cannot run {' '.join(argv)}: {exc}") from exc
        if result.returncode != 0:
            raise ConfigRejected((result.stderr + result.stdout).strip()
                                 or f"exit status {result.returncode}")

    def apply(self, config_text: str) -> Action:
        """Install ``config_text`` and make keepalived run it (start, or reload with SIGHUP);
        returns what it did (haproxy's :class:`~lbaas.drivers.haproxy.process.Action`).

        An identical config with keepalived running is a no-op. Raises ConfigRejected (nothing
        changed, ``keepalived.conf-failed`` kept for inspection) or KeepalivedError.
        """
        if not namespace_exists(self.namespace):
            raise KeepalivedError(
                f"namespace {self.namespace} of {self.lb_id} does not exist: plug eth0 first"
            )
        self.ensure_directory()
        paths = self.paths
        running = self.is_running()
        try:
            current: str | None = paths.config.read_text()
        except FileNotFoundError:
            current = None
        if running and current == config_text:
            return Action.UNCHANGED
        write_private(paths.new_config, config_text)
        try:
            self.validate(paths.new_config)
        except ConfigRejected:
            os.replace(paths.new_config, paths.failed_config)
            LOG.warning("keepalived config of %s rejected, kept in %s",
                        self.lb_id, paths.failed_config)
            raise
        os.replace(paths.new_config, paths.config)
        with contextlib.suppress(FileNotFoundError):
            paths.failed_config.unlink()
        if not running:
            self.start()
            return Action.STARTED
        self.reload()
        return Action.RELOADED

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start keepalived (daemonised, in the namespace) on ``keepalived.conf``; wait until
        its parent and VRRP child run. A keepalived of this copy left in another namespace
        (one deleted and made again) is stopped first."""
        if self.is_running():
            raise KeepalivedError(f"keepalived of {self.lb_id} is already running")
        if self._all_pids():
            LOG.warning("keepalived of %s runs outside %s: stopping it",
                        self.lb_id, self.namespace)
            self.stop()
        paths = self.paths
        with contextlib.suppress(FileNotFoundError):
            paths.state.unlink()
        # keepalived refuses to start while its pid files name a process that exists, and a
        # killed one may linger as a zombie (not every init reaps daemons promptly).
        self._remove_stale_pid_files()
        argv = [
            *self.exec_prefix,
            self.keepalived_bin,
            "-P",
            "-f", str(paths.config),
            "-p", str(paths.pid),
            "-r", str(paths.vrrp_pid),
        ]
        # The daemon may keep inherited descriptors open: a file, not a pipe.
        with tempfile.TemporaryFile(mode="w+") as output:
            try:
                result = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=paths.directory,
                    start_new_session=True,
                    timeout=self.timeout + 30,
                    check=False,
                    env=_environment(),
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise KeepalivedError(f"keepalived of {self.lb_id} did not start: {exc}") from exc
            output.seek(0)
            text = output.read().strip()
        if result.returncode != 0:
            raise KeepalivedError(
                f"keepalived of {self.lb_id} failed to start (exit status {result.returncode}): "
                f"{text}"
            )
        deadline = time.monotonic() + self.timeout
        while self.pid() is None or self.vrrp_pid() is None:
            if time.monotonic() >= deadline:
                raise KeepalivedError(
                    f"keepalived of {self.lb_id} started but its VRRP process does not run "
                    f"(see syslog): {text}"
                )
            time.sleep(0.02)
        LOG.info("started keepalived of %s (pid %s)", self.lb_id, self.pid())

    def reload(self) -> None:
        """Make the running keepalived read ``keepalived.conf`` again (SIGHUP)."""
        pid = self.pid()
        if pid is None:
            raise KeepalivedError(f"keepalived of {self.lb_id} is not running")
        os.kill(pid, signal.SIGHUP)
        LOG.info("reloaded keepalived of %s", self.lb_id)

    def stop(self, graceful: bool = True, timeout: float | None = None) -> None:
        """Stop this copy's keepalived; idempotent.

        ``graceful``: SIGTERM (keepalived tells the peer with a priority 0 advert, which takes
        over at once, and removes the VIP), SIGKILL after ``timeout`` seconds. Otherwise SIGKILL
        at once, which leaves the VIP configured: call :meth:`release_vip` then.
        """
        timeout = self.timeout if timeout is None else timeout
        pids = self._all_pids()
        if pids:
            steps = [(signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)]
            if not graceful:
                # Stop both first: the VRRP child would otherwise see its parent die and
                # shut down cleanly (or the parent respawn the child).
                steps = [(signal.SIGSTOP, 0.0), (signal.SIGKILL, 2.0)]
            for sig, wait in steps:
                targets = pids[:1] if sig == signal.SIGTERM else pids
                for pid in targets:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
                if sig != signal.SIGSTOP and wait_gone(pids, wait):
                    break
            else:
                raise KeepalivedError(f"keepalived of {self.lb_id} (pids {pids}) does not die")
            LOG.info("stopped keepalived of %s", self.lb_id)
        self._remove_stale_pid_files()

    def _remove_stale_pid_files(self) -> None:
        for path in (self.paths.pid, self.paths.vrrp_pid):
            if self._own_pid(path, any_namespace=True) is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def remove_state(self) -> None:
        """Stop keepalived if it runs, then delete its files (haproxy's stay; the directory
        goes when it is empty). The shared scripts stay."""
        self.stop()
        for path in self.paths.own_files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(FileNotFoundError, OSError):
            self.paths.directory.rmdir()
