"""Runs the real ``openstack`` CLI (python-openstackclient + python-octaviaclient) as a
subprocess with a fixed environment: used by ``test_openstack_cli.py`` and ``test_keystone.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPENSTACK = Path(sys.executable).parent / "openstack"
COMMAND_TIMEOUT = 60.0


@dataclass
class Cli:
    """Runs ``openstack`` with a fixed environment and leading options."""

    env: dict[str, str]
    options: Sequence[str] = field(default_factory=tuple)

    def _argv(self, args: Sequence[str]) -> list[str]:
        return [str(OPENSTACK), *self.options, *args]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one command; with ``check``, fail the test (showing stderr) on a non-zero exit."""
        done = subprocess.run(self._argv(args), env=self.env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, check=False)
        if check:
            assert done.returncode == 0, (f"openstack {' '.join(args)} exited "
                                          f"{done.returncode}:\n{done.stderr}")
        return done

    def json(self, *args: str) -> Any:
        """Run a command with ``-f json`` and parse its output."""
        return json.loads(self.run(*args, "-f", "json").stdout)

    def json_many(self, *commands: Sequence[str]) -> list[Any]:
        """Run independent commands concurrently; their parsed JSON output, in order.

        Commands listed with a leading ``"raw"`` are not given ``-f json`` (``status show`` prints
        JSON on its own).
        """
        procs = []
        for command in commands:
            args = list(command[1:]) if command[0] == "raw" else [*command, "-f", "json"]
            procs.append((args, subprocess.Popen(self._argv(args), env=self.env, text=True,
                                                 stdout=subprocess.PIPE,
                                                 stderr=subprocess.PIPE)))
        results = []
        for args, proc in procs:
            out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
            assert proc.returncode == 0, (f"openstack {' '.join(args)} exited "
                                          f"{proc.returncode}:\n{err}")
            results.append(json.loads(out))
        return results
