"""The ``lbaas`` CLI's entry points against the real API served by uvicorn: the whole ``lbaas``
typer app (every resource command is registered) and the installed ``lbaas`` script, run as a
subprocess, printing JSON only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lbaas.cli.main import app
from tests.functional.cli_harness import SUB_APPS, Cli


def test_main_app_runs_every_resource_command(cli: Cli) -> None:
    env = {"OS_ENDPOINT": cli.served.url, "OS_TOKEN": cli.served.api.member.token}
    for name in SUB_APPS:
        result = cli.runner.invoke(app, [name, "--help"], env=env)
        assert result.exit_code == 0 and "delete" in result.stdout, name
    result = cli.runner.invoke(app, ["loadbalancer", "list", "-f", "json"], env=env)
    assert result.exit_code == 0 and isinstance(json.loads(result.stdout), list)


# --- the installed command ------------------------------------------------------------------


def test_installed_script_prints_json_only(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-script")
    script = Path(sys.executable).with_name("lbaas")
    env = {**os.environ, "OS_ENDPOINT": cli.served.url, "OS_TOKEN": cli.served.api.member.token}
    done = subprocess.run([str(script), "loadbalancer", "show", "lb-script", "-f", "json"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == lb["id"]
