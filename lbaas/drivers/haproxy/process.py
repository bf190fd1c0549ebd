"""Run one load balancer's haproxy: validate and install its config, start, reload, stop.

The agent builds one :class:`HaproxyProcess` per load balancer (files under
``<state_path>/lbaas/<lb_id>/``, see :mod:`.state_paths`; command prefix from the interface
driver's ``netns_exec_argv``) and calls :meth:`HaproxyProcess.apply` with the rendered config.
A config haproxy refuses must never replace the one a running haproxy serves, and an agent that
dies mid-apply must not leave a half-written ``haproxy.cfg``: the new text goes to
``haproxy.cfg.new`` (0600), ``haproxy -c`` must accept it (otherwise :class:`ConfigRejected`, a
``haproxy.cfg-failed`` copy, and the running process untouched), then it is renamed over
``haproxy.cfg`` (atomic) and haproxy is started or reloaded.

haproxy runs in master-worker mode, daemonised (``-W -D``) so the agent's death does not kill it,
with a master CLI socket (``-S master.sock``, spoken to through :mod:`.master_cli`). A reload
first saves ``show servers state`` into ``servers.state`` (runtime weight/drain/maint survive if
the config says ``server-state-file <paths.servers_state>`` and ``load-server-state-from-file
global``), then asks the master to ``reload``: it re-executes itself, takes the listening sockets
over from the old worker and lets the old worker finish its connections. No connection is dropped.

The config must contain ``stats socket <paths.stats_socket> mode 600 level admin expose-fd
listeners``. Liveness is judged from this load balancer's own master socket, never by process
name: PIDs are not isolated by network namespaces.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lbaas.drivers.haproxy.master_cli import ProcInfo, request_reload, show_proc
from lbaas.drivers.haproxy.state_paths import StatePaths, write_private
from lbaas.drivers.haproxy.stats import StatsClient, StatsError
from lbaas.drivers.pids import command_line, pid_alive, wait_gone

LOG = logging.getLogger(__name__)

_LB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class HaproxyError(Exception):
    """haproxy could not be started, reloaded or stopped; the message carries its output."""


class ConfigRejected(HaproxyError):
    """``haproxy -c`` refused a config; :attr:`output` is haproxy's error text."""

    def __init__(self, output: str) -> None:
        super().__init__(f"haproxy rejected the configuration: {output.strip()}")
        self.output = output


class Action(enum.StrEnum):
    """What :meth:`HaproxyProcess.apply` did."""

    STARTED = "started"
    RELOADED = "reloaded"
    UPDATED = "updated at runtime"
    """The running haproxy took the change through its runtime API (:mod:`.runtime_plan`)."""
    UNCHANGED = "unchanged"


class HaproxyProcess:
    """The haproxy of one load balancer: its files, its master process and its sockets.

    Not thread-safe: the agent runs one change at a time per load balancer.
    """

    def __init__(
        self,
        lb_id: str,
        state_path: str | os.PathLike[str],
        exec_prefix: Sequence[str] = (),
        haproxy_bin: str = "haproxy",
        timeout: float = 10.0,
    ) -> None:
        """``exec_prefix`` runs haproxy in the load balancer's namespace (``netns_exec_argv``);
        ``timeout`` bounds each wait for haproxy to start, reload or stop."""
        if not _LB_ID.match(lb_id):
            raise ValueError(f"invalid load balancer id {lb_id!r}")
        self.lb_id = lb_id
        self.paths = StatePaths.for_load_balancer(state_path, lb_id)
        self.exec_prefix = list(exec_prefix)
        self.haproxy_bin = haproxy_bin
        self.timeout = timeout

    # -- state ---------------------------------------------------------------------------------

    def stats(self) -> StatsClient:
        """A client for this load balancer's stats socket."""
        return StatsClient(str(self.paths.stats_socket))

    def proc_info(self) -> ProcInfo | None:
        """``show proc`` from this load balancer's master, or None when no master answers."""
        return show_proc(self.paths.master_socket, timeout=2.0)

    def is_running(self) -> bool:
        """True when this load balancer's master answers on its own master socket."""
        return self.proc_info() is not None

    def _pids(self) -> list[int]:
        info = self.proc_info()
        if info is not None:
            return [info.master_pid, *(pid for pid, _ in info.workers)]
        pid = self._pid_from_file()
        return [pid] if pid is not None else []

    def _pid_from_file(self) -> int | None:
        """The pid file's pid if that process is our haproxy (its command line names our config)."""
        try:
            pid = int(self.paths.pid.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if os.fsencode(self.paths.config) in command_line(pid) and pid_alive(pid):
            return pid
        return None

    # -- apply ---------------------------------------------------------------------------------

    def ensure_directory(self) -> None:
        """Create the state directory with mode 0700 (and fix the mode of an existing one)."""
        for directory in {self.paths.directory, self.paths.socket_directory}:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)

    def validate(self, config_path: Path) -> None:
        """Run ``haproxy -c`` on ``config_path``; ConfigRejected with its output if refused."""
        result = subprocess.run(
            [self.haproxy_bin, "-c", "-f", str(config_path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise ConfigRejected((result.stderr + result.stdout).strip())

    def install(self, config_text: str) -> None:
        """Replace ``haproxy.cfg`` (atomically) without telling haproxy: the running process
        already took the change at runtime, and a later reload or start keeps it."""
        self.ensure_directory()
        write_private(self.paths.new_config, config_text)
        os.replace(self.paths.new_config, self.paths.config)

    def apply(self, config_text: str, running: bool | None = None) -> Action:
        """Install ``config_text`` and make haproxy run it (start, or reload without drops).

        An identical config with haproxy running is a no-op. Raises ConfigRejected (nothing
        changed, ``haproxy.cfg-failed`` kept for inspection) or HaproxyError. When a reload
        fails the old workers keep serving, so the previous ``haproxy.cfg`` is put back (the new
        text goes to ``haproxy.cfg-failed``) and applying the same text again retries.

        ``running``: whether the master answers, when the caller has just asked it (saves a
        round trip on the master socket); None asks here.
        """
        self.ensure_directory()
        paths = self.paths
        if running is None:
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
            LOG.warning(
                "haproxy config of %s rejected, kept in %s", self.lb_id, paths.failed_config
            )
            raise
        os.replace(paths.new_config, paths.config)
        with contextlib.suppress(FileNotFoundError):
            paths.failed_config.unlink()
        if not running:
            self.start()
            return Action.STARTED
        try:
            self.reload()
        except HaproxyError:
            write_private(paths.failed_config, config_text)
            if current is not None:
                write_private(paths.new_config, current)
                os.replace(paths.new_config, paths.config)
            raise
        return Action.RELOADED

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the master (daemonised, in the namespace) on ``haproxy.cfg``; wait for a worker."""
        paths = self.paths
        argv = [
            *self.exec_prefix,
            self.haproxy_bin,
            "-W",
            "-D",
            "-S",
            f"{paths.master_socket},mode,600",
            "-f",
            str(paths.config),
            "-p",
            str(paths.pid),
        ]
        # The daemon may keep inherited stdout/stderr open: use a file, not a pipe.
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
                )
            except subprocess.TimeoutExpired as exc:
                raise HaproxyError(f"haproxy for {self.lb_id} did not daemonise") from exc
            output.seek(0)
            text = output.read()
        if result.returncode != 0:
            raise HaproxyError(f"haproxy for {self.lb_id} failed to start: {text.strip()}")
        if text.strip():
            LOG.debug("haproxy for %s said at start: %s", self.lb_id, text.strip())
        info = self._wait_for(lambda i: bool(i.workers))
        if info is None:
            raise HaproxyError(f"haproxy for {self.lb_id} started but no worker answers: {text}")
        LOG.info("started haproxy for %s (master pid %d)", self.lb_id, info.master_pid)

    def save_servers_state(self) -> bool:
        """Save ``show servers state`` into ``servers.state`` atomically; False if unavailable."""
        try:
            text = self.stats().show_servers_state_text()
        except (OSError, StatsError) as exc:
            LOG.warning("cannot save server state of %s: %s", self.lb_id, exc)
            return False
        tmp = self.paths.servers_state.with_suffix(".tmp")
        write_private(tmp, text)
        os.replace(tmp, self.paths.servers_state)
        return True

    def reload(self) -> None:
        """Save runtime server state, then reload through the master CLI and wait for the result.

        Raises HaproxyError if the master reports the reload failed (the old worker keeps
        serving) or does not come back within the timeout.
        """
        before = self.proc_info()
        if before is None:
            raise HaproxyError(f"haproxy for {self.lb_id} is not running")
        self.save_servers_state()
        request_reload(self.paths.master_socket, timeout=self.timeout)
        old_workers = {pid for pid, _ in before.workers}

        def failed(info: ProcInfo) -> bool:
            # "[failed: N]" counts consecutive failed reloads; a success resets it.
            return info.failed_reloads > before.failed_reloads

        def settled(info: ProcInfo) -> bool:
            new_worker = any(pid not in old_workers for pid, _ in info.workers)
            return info.reloads > before.reloads and (failed(info) or new_worker)

        after = self._wait_for(settled)
        if after is None:
            raise HaproxyError(f"haproxy for {self.lb_id} did not finish reloading")
        if failed(after):
            raise HaproxyError(
                f"haproxy for {self.lb_id} failed to reload; the old process "
                "keeps serving the previous configuration"
            )
        LOG.info("reloaded haproxy for %s", self.lb_id)

    def _wait_for(self, done: Callable[[ProcInfo], bool]) -> ProcInfo | None:
        """Poll ``show proc`` until ``done(info)`` (None on timeout)."""
        deadline = time.monotonic() + self.timeout
        while True:
            info = self.proc_info()
            if info is not None and done(info):
                return info
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def stop(self, timeout: float | None = None, graceful: bool = True) -> None:
        """Stop the master and its workers, then remove the sockets and pid file. Idempotent.

        ``graceful``: soft-stop (SIGUSR1: stop accepting, finish current connections) for up to
        ``timeout`` seconds, then SIGTERM, then SIGKILL. Otherwise SIGTERM at once.
        """
        timeout = self.timeout if timeout is None else timeout
        pids = self._pids()
        if pids:
            steps = [signal.SIGUSR1, signal.SIGTERM, signal.SIGKILL]
            if not graceful:
                steps = steps[1:]
            for step, sig in enumerate(steps):
                targets = pids[:1] if sig != signal.SIGKILL else pids
                for pid in targets:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
                wait = timeout if step == 0 else 2.0
                if wait_gone(pids, wait):
                    break
            else:
                raise HaproxyError(f"haproxy for {self.lb_id} (pids {pids}) does not die")
            LOG.info("stopped haproxy for %s", self.lb_id)
        for path in (self.paths.master_socket, self.paths.stats_socket, self.paths.pid):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def remove_state(self) -> None:
        """Stop haproxy if it runs, then delete the state directory."""
        self.stop()
        shutil.rmtree(self.paths.directory, ignore_errors=True)
        shutil.rmtree(self.paths.socket_directory, ignore_errors=True)
