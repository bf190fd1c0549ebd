"""The ``lbaas`` commands of a load balancer's children against the real API served by uvicorn:
the lifecycle (create, list, show, set, delete with ``--wait``) of listeners, pools, members,
health monitors, L7 policies and L7 rules, found by name."""

from __future__ import annotations

from typing import Any

from tests.functional.cli_harness import Cli

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
    assert created["lbaas:access_log"] is True
    quiet = cli.json("listener", "set", "tls2", "--no-access-log", "--wait")
    assert quiet["lbaas:access_log"] is False
    assert cli.json("listener", "set", "tls2", "--access-log", "--wait")["lbaas:access_log"]
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
    assert (pool["lbaas:drain_timeout"], pool["lbaas:slow_start"]) == (0, 0)
    ramped = cli.json("pool", "set", "app", "--drain-timeout", "30", "--slow-start", "10",
                      "--wait")
    assert (ramped["lbaas:drain_timeout"], ramped["lbaas:slow_start"]) == (30, 10)
    refused = cli("pool", "set", "app", "--lb-algorithm", "SOURCE_IP")
    assert refused.exit_code == 1 and "lbaas:drain_timeout needs a pool balanced by" in (
        refused.output), refused.output
    assert cli.json("pool", "set", "app", "--drain-timeout", "0", "--slow-start", "0",
                    "--wait")["lbaas:slow_start"] == 0
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
