"""The ``lbaas loadbalancer`` commands against the real API served by uvicorn: create (by subnet
or network, by ID or name, with ``--wait``), list, show, set, status, stats, delete and failover,
in json, table and value formats. Each command runs in-process with typer's CliRunner."""

from __future__ import annotations

from typing import Any

from tests.functional.cli_harness import Cli

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
