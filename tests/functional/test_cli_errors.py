"""How the ``lbaas`` CLI resolves names and reports failures, against the real API served by
uvicorn: ambiguous, unknown and other projects' names, API errors (faultstring and HTTP status),
usage errors (exit code 2), bad tokens, an unreachable endpoint, and the ``LBAAS_*`` environment
variables."""

from __future__ import annotations

import json
from typing import Any

from lbaas.cli.main import app
from tests.functional.cli_harness import Cli

# --- name resolution and errors -------------------------------------------------------------


def test_name_resolution_with_ambiguous_name_fails(cli: Cli) -> None:
    create = ("loadbalancer", "create", "--name", "twin", "--vip-subnet-id", cli.subnet_id)
    first = cli.json(*create)
    cli.json(*create)
    result = cli("loadbalancer", "show", "twin")
    assert result.exit_code == 1
    assert "More than one load balancer is named 'twin'" in result.stderr
    assert result.stdout == ""
    assert cli.json("loadbalancer", "show", first["id"])["id"] == first["id"]


def test_name_resolution_with_unknown_name_fails(cli: Cli) -> None:
    result = cli("pool", "show", "no-such-pool")
    assert result.exit_code == 1
    assert "No pool with name or ID 'no-such-pool' found" in result.stderr


def test_name_resolution_ignores_other_projects(cli: Cli) -> None:
    theirs = cli.json("loadbalancer", "create", "--name", "private-lb", "--vip-subnet-id",
                      cli.subnet_id, token=cli.served.api.other.token)
    assert cli("loadbalancer", "show", "private-lb").exit_code == 1
    assert cli("loadbalancer", "show", theirs["id"]).exit_code == 1


def test_api_error_prints_faultstring_and_status(cli: Cli, web: dict[str, Any]) -> None:
    invalid = cli("listener", "create", web["name"], "--protocol", "HTTP", "--protocol-port",
                  "8080", "--insert-headers", "X-Evil=true", "-f", "json")
    assert invalid.exit_code == 1
    assert invalid.stdout == ""
    assert "header 'X-Evil' cannot be inserted" in invalid.stderr
    assert "HTTP 400" in invalid.stderr
    conflict = cli("listener", "create", web["name"], "--protocol", "HTTP", "--protocol-port",
                   "80")
    assert conflict.exit_code == 1
    assert "protocol_port 80" in conflict.stderr and "HTTP 409" in conflict.stderr


def test_bad_choice_is_usage_error(cli: Cli) -> None:
    result = cli("pool", "create", "--loadbalancer", "x", "--protocol", "GOPHER",
                 "--lb-algorithm", "ROUND_ROBIN")
    assert result.exit_code == 2 and "GOPHER" in result.stderr


def test_bad_key_value_is_usage_error(cli: Cli) -> None:
    result = cli("listener", "create", "any-lb", "--protocol", "HTTP", "--protocol-port",
                 "81", "--insert-headers", "X-Forwarded-For")
    assert result.exit_code == 2 and "KEY=VALUE" in result.stderr


def test_bad_token_is_api_error(cli: Cli) -> None:
    result = cli("loadbalancer", "list", token="not-a-token")
    assert result.exit_code == 1 and "HTTP 401" in result.stderr


def test_unreachable_endpoint_is_api_error(cli: Cli) -> None:
    result = cli("loadbalancer", "list", "--os-endpoint", "http://127.0.0.1:1")
    assert result.exit_code == 1 and "cannot reach the API" in result.stderr


def test_lbaas_env_variables_configure_the_client(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-env")
    env = {"OS_ENDPOINT": None, "OS_TOKEN": None, "LBAAS_ENDPOINT": cli.served.url + "/v2",
           "LBAAS_TOKEN": cli.served.api.member.token}
    result = cli.runner.invoke(app, ["loadbalancer", "show", "lb-env", "-f", "json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == lb["id"]
