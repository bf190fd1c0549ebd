"""Helpers of the ``lbaas`` CLI tests (``test_cli_*.py``): :class:`Served` (an API under test and
the URL uvicorn serves it on) and :class:`Cli`, which runs ``lbaas …`` in-process with typer's
CliRunner against it and decodes what it printed with ``-f json``. The fixtures that serve the
API and build these are in tests/functional/conftest.py.

Not a test module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner, Result

from lbaas.cli.resources import SUB_APPS as RESOURCE_APPS
from tests.functional.harness import Api

SUB_APPS = dict(RESOURCE_APPS)


@dataclass
class Served:
    """An API under test and the URL uvicorn serves it on."""

    api: Api
    url: str


@dataclass
class Cli:
    """Runs ``lbaas …`` against a served API with a project-a member token."""

    served: Served
    runner: CliRunner

    @property
    def subnet_id(self) -> str:
        return self.served.api.subnet_id

    def __call__(self, *args: str, token: str | None = None) -> Result:
        """``lbaas *args``, run through its resource sub-app (building the whole ``lbaas`` tree
        of commands for every call would dominate the run time; ``test_main_app_…`` covers it).
        """
        env = {"OS_ENDPOINT": self.served.url,
               "OS_TOKEN": self.served.api.member.token if token is None else token,
               "LBAAS_ENDPOINT": None, "LBAAS_TOKEN": None}
        return self.runner.invoke(SUB_APPS[args[0]], list(args[1:]), env=env,
                                  prog_name=f"lbaas {args[0]}")

    def ok(self, *args: str, token: str | None = None) -> Result:
        """Run a command that must succeed."""
        result = self(*args, token=token)
        assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str, token: str | None = None) -> Any:
        """Run a command with ``-f json``; what it printed on stdout, decoded."""
        return json.loads(self.ok(*args, "-f", "json", token=token).stdout)

    def loadbalancer(self, name: str) -> Any:
        return self.json("loadbalancer", "create", "--name", name, "--vip-subnet-id",
                         self.subnet_id, "--wait")
