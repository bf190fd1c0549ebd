"""Keep the agent's log sockets listening while the agent itself is gone.

haproxy 2.6 reconnects a ring's server at once when a connection fails: with no process
listening on the agent's log sockets (the agent crashed, or is starting), every haproxy of the
host spins at 100 % of a core. So a tiny process (``sleep infinity``) holds a copy of both
listening sockets for as long as the agent runs and after it dies: haproxy's connections then
wait in the sockets' backlog (its rings drop the oldest lines meanwhile, and say how many)
until an agent accepts them.

:func:`spawn_holder` starts the holder in the agent's process group (killing the group, as
a service manager or a test does, takes it along) and records it in ``<state_path>/
log-sockets.holder``; :func:`stop_holder` ends the one recorded, checking that the pid is
still that ``sleep`` (its start time) so a reused pid is never killed. Called by
:class:`.receiver.AccessLogService`: a new agent stops the previous holder once its own
sockets listen, so the connections queued on the old ones are reset and come to the new.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path

from lbaas.drivers.pids import command_line, start_ticks

LOG = logging.getLogger(__name__)

HOLDER_FILE = "log-sockets.holder"
_COMMAND = ("sleep", "infinity")


def holder_file(state_path: str | os.PathLike[str]) -> Path:
    return Path(state_path) / HOLDER_FILE


def spawn_holder(state_path: str | os.PathLike[str], fds: Iterable[int]) -> int:
    """Start a holder of ``fds`` (listening sockets) and record it; returns its pid."""
    proc = subprocess.Popen(_COMMAND, pass_fds=tuple(fds), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    record = holder_file(state_path)
    record.write_text(f"{proc.pid} {start_ticks(proc.pid)}\n")
    os.chmod(record, 0o600)
    return proc.pid


def stop_holder(state_path: str | os.PathLike[str]) -> bool:
    """Kill the recorded holder if it is still running (and still the process recorded);
    forget it either way. True when one was killed."""
    record = holder_file(state_path)
    try:
        pid_text, start = record.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    killed = False
    if start_ticks(pid) == start and command_line(pid) == [os.fsencode(a) for a in _COMMAND]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed = True
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)  # ours when this agent spawned it
    with contextlib.suppress(FileNotFoundError):
        record.unlink()
    return killed

