"""The resource commands of the ``lbaas`` CLI against the real API served by uvicorn on a free
port: every command runs in-process with typer's CliRunner (one runs the installed ``lbaas``
script) and the tests read what it printed with ``-f json``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner, Result

from lbaas.api.app import create_app
from lbaas.cli.client import ApiClient, ApiError, normalize_endpoint
from lbaas.cli.main import app
from lbaas.cli.params import parse_pairs, parse_persistence, tags_after_set
from lbaas.cli.resources import SUB_APPS as RESOURCE_APPS
from lbaas.cli.wait import WaitError, wait_for_loadbalancer
from lbaas.db import models
from lbaas.db.engine import write_session
from tests.functional.harness import Api, build_api, close_api

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


def _serve(api: Api) -> Iterator[str]:
    """Serve ``api`` with uvicorn on a free port in a thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(api.services.conf, api.services), lifespan="off",
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One API for the module (tests use their own load balancer names)."""
    api = build_api(str(tmp_path_factory.mktemp("cli")))
    try:
        for url in _serve(api):
            yield Served(api, url)
    finally:
        close_api(api)


@pytest.fixture
def cli(served: Served) -> Cli:
    return Cli(served, CliRunner())


@pytest.fixture(scope="module")
def slow_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An API whose provider takes a second to finish any change (objects stay PENDING_*)."""
    api = build_api(str(tmp_path_factory.mktemp("cli-slow")),
                    overrides={"noop_provider": {"completion_delay": 1.0}})
    try:
        for url in _serve(api):
            yield Served(api, url)
    finally:
        close_api(api)


@pytest.fixture
def slow_cli(slow_served: Served) -> Cli:
    return Cli(slow_served, CliRunner())


@pytest.fixture
def web(cli: Cli, request: pytest.FixtureRequest) -> dict[str, Any]:
    """An ACTIVE load balancer with an HTTP listener on port 80, named after the test."""
    name = request.node.name.removeprefix("test_")[:40]
    lb = cli.loadbalancer(name)
    listener = cli.json("listener", "create", name, "--name", f"{name}-http", "--protocol",
                        "HTTP", "--protocol-port", "80", "--wait")
    return {"lb": lb, "listener": listener, "name": name}


# --- load balancers -------------------------------------------------------------------------


def test_loadbalancer_create_with_wait_is_active(cli: Cli) -> None:
    lb = cli.json("loadbalancer", "create", "--name", "lb-wait", "--vip-subnet-id",
                  cli.subnet_id, "--description", "d", "--tag", "blue", "--wait")
    assert lb["provisioning_status"] == "ACTIVE"
    assert (lb["name"], lb["description"], lb["tags"]) == ("lb-wait", "d", ["blue"])
    assert lb["vip_subnet_id"] == cli.subnet_id and lb["vip_address"]


def test_loadbalancer_create_with_subnet_name_resolves_it(cli: Cli) -> None:
    lb = cli.json("loadbalancer", "create", "--name", "lb-subnet-name", "--vip-subnet-id",
                  "public-subnet", "--wait")
    assert lb["vip_subnet_id"] == cli.subnet_id


def test_loadbalancer_create_with_network_name_resolves_it(cli: Cli) -> None:
    lb = cli.json("loadbalancer", "create", "--name", "lb-network-name", "--vip-network-id",
                  "public")
    assert lb["vip_network_id"] == cli.served.api.network_id


def test_loadbalancer_create_without_vip_is_usage_error(cli: Cli) -> None:
    result = cli("loadbalancer", "create", "--name", "no-vip")
    assert result.exit_code == 2
    assert "--vip-subnet-id" in result.stderr and result.stdout == ""


def test_loadbalancer_list_show_set_by_name(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-crud")
    listed = cli.json("loadbalancer", "list", "--name", "lb-crud")
    assert [item["id"] for item in listed] == [lb["id"]]
    assert cli.json("loadbalancer", "show", "lb-crud")["id"] == lb["id"]
    assert cli.json("loadbalancer", "show", lb["id"])["name"] == "lb-crud"
    updated = cli.json("loadbalancer", "set", "lb-crud", "--description", "new", "--tag", "a",
                       "--tag", "b", "--disable", "--wait")
    assert updated["provisioning_status"] == "ACTIVE"
    assert (updated["description"], updated["tags"], updated["admin_state_up"]) == (
        "new", ["a", "b"], False)
    retagged = cli.json("loadbalancer", "set", "lb-crud", "--no-tag", "--tag", "c", "--wait")
    assert retagged["tags"] == ["c"]
    assert [i["id"] for i in cli.json("loadbalancer", "list", "--tags", "c")] == [lb["id"]]


def test_loadbalancer_set_without_attributes_is_usage_error(cli: Cli) -> None:
    cli.loadbalancer("lb-noop-set")
    result = cli("loadbalancer", "set", "lb-noop-set")
    assert result.exit_code == 2 and "nothing to set" in result.stderr


def test_loadbalancer_list_table_shows_whole_ids(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-table")
    result = cli.ok("loadbalancer", "list", "--name", "lb-table")
    assert lb["id"] in result.stdout and "provisioning_status" in result.stdout
    show = cli.ok("loadbalancer", "show", "lb-table")
    assert "vip_address" in show.stdout and lb["vip_address"] in show.stdout


def test_loadbalancer_show_value_format_prints_bare_values(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-value")
    result = cli.ok("loadbalancer", "show", "lb-value", "-f", "value", "-c", "id", "-c", "name")
    assert result.stdout.splitlines() == [lb["id"], "lb-value"]


def test_loadbalancer_show_unknown_column_is_usage_error(cli: Cli) -> None:
    cli.loadbalancer("lb-column")
    result = cli("loadbalancer", "show", "lb-column", "-f", "json", "-c", "nope")
    assert result.exit_code == 2 and "nope" in result.stderr


def test_loadbalancer_status_prints_tree(cli: Cli, web: dict[str, Any]) -> None:
    name = web["name"]
    pool = cli.json("pool", "create", "--listener", f"{name}-http", "--protocol", "HTTP",
                    "--lb-algorithm", "ROUND_ROBIN", "--name", f"{name}-pool", "--wait")
    member = cli.json("member", "create", pool["id"], "--address", "10.0.0.7",
                      "--protocol-port", "8080", "--wait")
    tree = cli.json("loadbalancer", "status", name)["statuses"]["loadbalancer"]
    assert tree["id"] == web["lb"]["id"] and tree["provisioning_status"] == "ACTIVE"
    (listener,) = tree["listeners"]
    assert listener["id"] == web["listener"]["id"]
    (tree_pool,) = listener["pools"]
    assert tree_pool["id"] == pool["id"]
    assert [m["id"] for m in tree_pool["members"]] == [member["id"]]
    table = cli.ok("loadbalancer", "status", name).stdout
    assert f"listener {name}-http" in table and "member 10.0.0.7:8080" in table


def test_stats_of_new_loadbalancer_and_listener_are_zero(cli: Cli, web: dict[str, Any]) -> None:
    keys = {"bytes_in", "bytes_out", "active_connections", "total_connections",
            "request_errors"}
    lb_stats = cli.json("loadbalancer", "stats", web["name"])
    listener_stats = cli.json("listener", "stats", web["listener"]["id"])
    assert set(lb_stats) == keys and set(listener_stats) == keys
    assert not any(lb_stats.values()) and not any(listener_stats.values())


def test_loadbalancer_delete_with_wait_is_gone(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-delete")
    cli.json("listener", "create", "lb-delete", "--protocol", "TCP", "--protocol-port", "22",
             "--wait")
    refused = cli("loadbalancer", "delete", "lb-delete")
    assert refused.exit_code == 1 and "children" in refused.stderr
    cli.ok("loadbalancer", "delete", "lb-delete", "--cascade", "--wait")
    gone = cli("loadbalancer", "show", lb["id"])
    assert gone.exit_code == 1 and lb["id"] in gone.stderr


def test_loadbalancer_failover_by_admin_with_wait_is_active(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-failover")
    denied = cli("loadbalancer", "failover", "lb-failover")
    assert denied.exit_code == 1 and "HTTP 403" in denied.stderr
    cli.ok("loadbalancer", "failover", lb["id"], "--wait", token=cli.served.api.admin.token)
    assert cli.json("loadbalancer", "show", lb["id"])["provisioning_status"] == "ACTIVE"


# --- children -------------------------------------------------------------------------------


def test_listener_lifecycle_by_name(cli: Cli, web: dict[str, Any]) -> None:
    name = web["name"]
    created = cli.json("listener", "create", name, "--name", "tls", "--protocol", "TCP",
                       "--protocol-port", "443", "--connection-limit", "100",
                       "--allowed-cidr", "10.0.0.0/8", "--allowed-cidr", "192.168.0.0/16",
                       "--timeout-client-data", "1000", "--wait")
    assert created["provisioning_status"] == "ACTIVE"
    assert created["allowed_cidrs"] == ["10.0.0.0/8", "192.168.0.0/16"]
    assert (created["connection_limit"], created["timeout_client_data"]) == (100, 1000)
    ids = {li["id"] for li in cli.json("listener", "list", "--loadbalancer", name)}
    assert ids == {web["listener"]["id"], created["id"]}
    assert cli.json("listener", "show", "tls")["protocol_port"] == 443
    updated = cli.json("listener", "set", "tls", "--name", "tls2", "--connection-limit", "5",
                       "--wait")
    assert (updated["name"], updated["connection_limit"]) == ("tls2", 5)
    http = cli.json("listener", "set", f"{name}-http", "--insert-headers",
                    "X-Forwarded-For=true,X-Forwarded-Port=true", "--wait")
    assert http["insert_headers"] == {"X-Forwarded-For": "true", "X-Forwarded-Port": "true"}
    cli.ok("listener", "delete", "tls2", "--wait")
    assert cli("listener", "show", created["id"]).exit_code == 1
    assert cli.json("loadbalancer", "show", name)["provisioning_status"] == "ACTIVE"


def test_pool_lifecycle_by_name(cli: Cli, web: dict[str, Any]) -> None:
    name = web["name"]
    pool = cli.json("pool", "create", "--loadbalancer", name, "--name", "app", "--protocol",
                    "http", "--lb-algorithm", "least_connections", "--session-persistence",
                    "type=APP_COOKIE,cookie_name=sid", "--wait")
    assert pool["provisioning_status"] == "ACTIVE"
    assert (pool["protocol"], pool["lb_algorithm"]) == ("HTTP", "LEAST_CONNECTIONS")
    assert pool["session_persistence"]["cookie_name"] == "sid"
    listed = cli.json("pool", "list", "--loadbalancer", name)
    assert [p["id"] for p in listed] == [pool["id"]]
    assert cli.json("pool", "show", "app")["id"] == pool["id"]
    updated = cli.json("pool", "set", "app", "--lb-algorithm", "SOURCE_IP",
                       "--session-persistence", "none", "--description", "apps", "--wait")
    assert (updated["lb_algorithm"], updated["session_persistence"]) == ("SOURCE_IP", None)
    listener = cli.json("listener", "set", f"{name}-http", "--default-pool", "app", "--wait")
    assert listener["default_pool_id"] == pool["id"]
    cli.ok("pool", "delete", "app", "--wait")
    assert cli("pool", "show", pool["id"]).exit_code == 1
    assert cli.json("listener", "show", f"{name}-http")["default_pool_id"] is None


def test_member_lifecycle_by_name(cli: Cli, web: dict[str, Any]) -> None:
    pool = cli.json("pool", "create", "--listener", f"{web['name']}-http", "--name",
                    f"{web['name']}-pool", "--protocol", "HTTP", "--lb-algorithm",
                    "ROUND_ROBIN", "--wait")
    member = cli.json("member", "create", f"{web['name']}-pool", "--name", "srv1", "--address",
                      "10.0.0.5", "--protocol-port", "8080", "--weight", "5", "--backup",
                      "--subnet-id", "public-subnet", "--monitor-port", "9000", "--wait")
    assert member["provisioning_status"] == "ACTIVE"
    assert (member["address"], member["protocol_port"], member["weight"]) == ("10.0.0.5", 8080, 5)
    assert member["backup"] is True and member["subnet_id"] == cli.subnet_id
    listed = cli.json("member", "list", pool["id"])
    assert [m["id"] for m in listed] == [member["id"]]
    assert cli.json("member", "show", pool["id"], "srv1")["monitor_port"] == 9000
    updated = cli.json("member", "set", f"{web['name']}-pool", "srv1", "--no-backup",
                       "--weight", "0", "--disable", "--wait")
    assert (updated["backup"], updated["weight"], updated["admin_state_up"]) == (False, 0, False)
    cli.ok("member", "delete", pool["id"], "srv1", "--wait")
    assert cli.json("member", "list", pool["id"]) == []


def test_healthmonitor_lifecycle_by_name(cli: Cli, web: dict[str, Any]) -> None:
    pool = cli.json("pool", "create", "--listener", f"{web['name']}-http", "--protocol", "HTTP",
                    "--lb-algorithm", "ROUND_ROBIN", "--wait")
    hm_name = f"{web['name']}-hm"
    hm = cli.json("healthmonitor", "create", pool["id"], "--name", hm_name, "--type", "http",
                  "--delay", "5", "--timeout", "3", "--max-retries", "3", "--url-path",
                  "/health", "--expected-codes", "200-204", "--http-method", "head",
                  "--http-version", "1.1", "--domain-name", "example.com", "--wait")
    assert hm["provisioning_status"] == "ACTIVE"
    assert (hm["type"], hm["url_path"], hm["http_method"]) == ("HTTP", "/health", "HEAD")
    assert (hm["http_version"], hm["domain_name"]) == (1.1, "example.com")
    assert hm["id"] in {h["id"] for h in cli.json("healthmonitor", "list", "--name", hm_name)}
    assert cli.json("healthmonitor", "show", hm_name)["pools"] == [{"id": pool["id"]}]
    updated = cli.json("healthmonitor", "set", hm_name, "--delay", "10", "--timeout", "4",
                       "--max-retries-down", "2", "--wait")
    assert (updated["delay"], updated["timeout"], updated["max_retries_down"]) == (10, 4, 2)
    renamed = cli.json("healthmonitor", "set", hm_name, "--name", "renamed", "--wait")
    assert (renamed["name"], renamed["delay"]) == ("renamed", 10)
    cli.ok("healthmonitor", "delete", "renamed", "--wait")
    assert cli.json("pool", "show", pool["id"])["healthmonitor_id"] is None


def test_l7policy_lifecycle_by_name(cli: Cli, web: dict[str, Any]) -> None:
    name = web["name"]
    pool = cli.json("pool", "create", "--loadbalancer", name, "--name", f"{name}-api",
                    "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN", "--wait")
    policy = cli.json("l7policy", "create", f"{name}-http", "--name", f"{name}-to-api",
                      "--action", "redirect_to_pool", "--redirect-pool", f"{name}-api",
                      "--wait")
    assert policy["provisioning_status"] == "ACTIVE"
    assert (policy["action"], policy["redirect_pool_id"]) == ("REDIRECT_TO_POOL", pool["id"])
    redirect = cli.json("l7policy", "create", web["listener"]["id"], "--action",
                        "REDIRECT_TO_URL", "--redirect-url", "https://example.com/",
                        "--redirect-http-code", "301", "--position", "1", "--wait")
    assert (redirect["redirect_http_code"], redirect["position"]) == (301, 1)
    listed = cli.json("l7policy", "list", "--listener", f"{name}-http")
    assert {p["id"] for p in listed} == {policy["id"], redirect["id"]}
    assert cli.json("l7policy", "show", f"{name}-to-api")["id"] == policy["id"]
    updated = cli.json("l7policy", "set", f"{name}-to-api", "--action", "REJECT",
                       "--description", "no", "--wait")
    assert (updated["action"], updated["redirect_pool_id"]) == ("REJECT", None)
    cli.ok("l7policy", "delete", f"{name}-to-api", "--wait")
    assert [p["id"] for p in cli.json("l7policy", "list", "--listener", f"{name}-http")] == [
        redirect["id"]]


def test_l7rule_lifecycle_by_policy_name(cli: Cli, web: dict[str, Any]) -> None:
    policy_name = f"{web['name']}-reject"
    cli.json("l7policy", "create", f"{web['name']}-http", "--name", policy_name, "--action",
             "REJECT", "--wait")
    rule = cli.json("l7rule", "create", policy_name, "--type", "path", "--compare-type",
                    "starts_with", "--value", "/admin", "--wait")
    assert rule["provisioning_status"] == "ACTIVE"
    assert (rule["type"], rule["compare_type"], rule["value"]) == ("PATH", "STARTS_WITH",
                                                                   "/admin")
    header = cli.json("l7rule", "create", policy_name, "--type", "HEADER", "--compare-type",
                      "EQUAL_TO", "--key", "X-Debug", "--value", "1", "--invert", "--wait")
    assert (header["key"], header["invert"]) == ("X-Debug", True)
    assert {r["id"] for r in cli.json("l7rule", "list", policy_name)} == {rule["id"],
                                                                         header["id"]}
    assert cli.json("l7rule", "show", policy_name, rule["id"])["value"] == "/admin"
    updated = cli.json("l7rule", "set", policy_name, rule["id"], "--value", "/private",
                       "--invert", "--wait")
    assert (updated["value"], updated["invert"]) == ("/private", True)
    cli.ok("l7rule", "delete", policy_name, rule["id"], "--wait")
    assert [r["id"] for r in cli.json("l7rule", "list", policy_name)] == [header["id"]]


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


# --- waiting --------------------------------------------------------------------------------


def test_wait_with_timeout_fails_with_status(slow_cli: Cli) -> None:
    result = slow_cli("loadbalancer", "create", "--name", "slow", "--vip-subnet-id",
                      slow_cli.subnet_id, "--wait", "--wait-timeout", "0.2", "-f", "json")
    assert result.exit_code == 1
    assert "Timed out" in result.stderr and "PENDING_CREATE" in result.stderr
    assert result.stdout == ""


def test_wait_when_loadbalancer_goes_error_fails(slow_cli: Cli) -> None:
    api = slow_cli.served.api

    def break_it() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with write_session(api.services.sessions) as session:
                lb = session.scalars(select(models.LoadBalancer).where(
                    models.LoadBalancer.name == "doomed")).first()
                if lb is not None:
                    lb.provisioning_status = "ERROR"
                    return
            time.sleep(0.02)

    breaker = threading.Thread(target=break_it)
    breaker.start()
    result = slow_cli("loadbalancer", "create", "--name", "doomed", "--vip-subnet-id",
                      slow_cli.subnet_id, "--wait", "--wait-timeout", "5")
    breaker.join()
    assert result.exit_code == 1
    assert "ERROR" in result.stderr and result.stdout == ""


def test_wait_for_loadbalancer_polls_until_active() -> None:
    states = ["PENDING_UPDATE", "PENDING_UPDATE", "ACTIVE"]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/lbaas/loadbalancers/lb1"
        return httpx.Response(200, json={"loadbalancer": {"id": "lb1",
                                                          "provisioning_status": states.pop(0)}})

    api = ApiClient("http://lbaas.test", "t", transport=httpx.MockTransport(handler))
    lb = wait_for_loadbalancer(api, "lb1", 5, sleep=lambda _s: None)
    assert lb is not None and lb["provisioning_status"] == "ACTIVE"
    states[:] = ["PENDING_UPDATE", "ERROR"]
    with pytest.raises(WaitError, match="ERROR"):
        wait_for_loadbalancer(api, "lb1", 5, sleep=lambda _s: None)


def test_main_app_runs_every_resource_command(cli: Cli) -> None:
    env = {"OS_ENDPOINT": cli.served.url, "OS_TOKEN": cli.served.api.member.token}
    for name in SUB_APPS:
        result = cli.runner.invoke(app, [name, "--help"], env=env)
        assert result.exit_code == 0 and "delete" in result.stdout, name
    result = cli.runner.invoke(app, ["loadbalancer", "list", "-f", "json"], env=env)
    assert result.exit_code == 0 and isinstance(json.loads(result.stdout), list)


# --- the client on its own -----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["http://h:9876", "http://h:9876/", "http://h:9876/v2",
                                      "http://h:9876/v2.0/", "http://h:9876/v2/lbaas"])
def test_client_endpoint_with_version_suffix_is_normalized(endpoint: str) -> None:
    assert normalize_endpoint(endpoint) == "http://h:9876"


def test_client_list_follows_next_links() -> None:
    pages = {None: (["a", "b"], "b"), "b": (["c"], None)}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["name"] == "web"
        ids, marker = pages[request.url.params.get("marker")]
        links = [{"rel": "next", "href": f"http://elsewhere/v2/lbaas/pools?marker={marker}"}
                 ] if marker else []
        return httpx.Response(200, json={"pools": [{"id": i} for i in ids],
                                         "pools_links": links})

    api = ApiClient("http://lbaas.test", "t", transport=httpx.MockTransport(handler))
    assert [p["id"] for p in api.list("/pools", "pools", {"name": "web"})] == ["a", "b", "c"]


def test_client_error_carries_faultstring_and_status() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"faultcode": "Client", "faultstring": "busy",
                                         "debuginfo": None})

    api = ApiClient("http://lbaas.test", "t", transport=httpx.MockTransport(handler))
    with pytest.raises(ApiError) as caught:
        api.get("/loadbalancers")
    assert (caught.value.message, caught.value.status, str(caught.value)) == (
        "busy", 409, "busy (HTTP 409)")


def test_option_parsers_split_key_values() -> None:
    assert parse_pairs(["X-Forwarded-For=true,X-Forwarded-Port=true"], "h") == {
        "X-Forwarded-For": "true", "X-Forwarded-Port": "true"}
    assert parse_persistence("type=source_ip,persistence_timeout=60") == {
        "type": "SOURCE_IP", "persistence_timeout": 60}
    assert tags_after_set(["a"], ["b", "a"], clear=False) == ["a", "b"]
    assert tags_after_set(["a"], None, clear=True) == []
    assert tags_after_set(["a"], None, clear=False) is None


# --- the installed command ------------------------------------------------------------------


def test_installed_script_prints_json_only(cli: Cli) -> None:
    lb = cli.loadbalancer("lb-script")
    script = Path(sys.executable).with_name("lbaas")
    env = {**os.environ, "OS_ENDPOINT": cli.served.url, "OS_TOKEN": cli.served.api.member.token}
    done = subprocess.run([str(script), "loadbalancer", "show", "lb-script", "-f", "json"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == lb["id"]
