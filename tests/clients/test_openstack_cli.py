"""The ``openstack`` CLI (python-openstackclient + python-octaviaclient) against a live server.

The CLI runs as a subprocess, exactly as an operator would run it, with ``admin_token`` auth
(``OS_AUTH_TYPE=admin_token OS_TOKEN=... OS_ENDPOINT=...``: no discovery, ``/v2.0/...`` paths) and,
against a ``noauth`` server, with ``--os-auth-type none --os-endpoint ...`` (version discovery at
``GET /``, then ``/v2/...`` paths). No ``clouds.yaml``, ``OS_*`` or proxy variable of the calling
environment reaches it. One server per module; every command's ``-f json`` output is parsed.

Each ``openstack`` start costs about a second of CPU (several without a bytecode cache) and every
``--wait`` sleeps 3 s once the server answers PENDING_*, so independent read-only commands run
concurrently and the module stays under ~90 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.clients.conftest import LiveApi, live_api
from tests.clients.osc import OPENSTACK, Cli

STATS_KEYS = {"active_connections", "bytes_in", "bytes_out", "request_errors",
              "total_connections"}

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(),
                                reason=f"python-openstackclient not installed ({OPENSTACK})")


@pytest.fixture(scope="module")
def cli(live: LiveApi, cli_environ: dict[str, str]) -> Cli:
    """``openstack`` authenticated as a member of project-a with an admin token."""
    env = {**cli_environ, "OS_AUTH_TYPE": "admin_token", "OS_TOKEN": live.api.member.token,
           "OS_ENDPOINT": live.url}
    return Cli(env)


@pytest.fixture(scope="module")
def noauth_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """A live server with ``[api] auth_strategy = noauth`` (auth type none sends "notused")."""
    with live_api(tmp_path_factory.mktemp("noauth"),
                  overrides={"api": {"auth_strategy": "noauth"}}) as server:
        yield server


def test_full_lifecycle(cli: Cli, live: LiveApi) -> None:
    """Create a whole tree with --wait, inspect it, update it, cascade-delete it."""
    lb = cli.json("loadbalancer", "create", "--name", "lb1", "--vip-subnet-id",
                  live.api.subnet_id, "--wait")
    assert lb["name"] == "lb1"
    assert lb["provisioning_status"] == "ACTIVE"
    assert lb["vip_subnet_id"] == live.api.subnet_id
    assert lb["project_id"] == live.api.member.project_id

    listener = cli.json("loadbalancer", "listener", "create", "--name", "l1", "--protocol",
                        "HTTP", "--protocol-port", "80", "--wait", "lb1")
    assert (listener["name"], listener["protocol"], listener["protocol_port"]) == ("l1", "HTTP",
                                                                                  80)
    assert listener["loadbalancers"] == [{"id": lb["id"]}]
    assert listener["provisioning_status"] == "ACTIVE"

    pool = cli.json("loadbalancer", "pool", "create", "--name", "p1", "--lb-algorithm",
                    "ROUND_ROBIN", "--listener", "l1", "--protocol", "HTTP", "--wait")
    assert (pool["name"], pool["lb_algorithm"], pool["protocol"]) == ("p1", "ROUND_ROBIN",
                                                                      "HTTP")
    assert pool["listeners"] == [{"id": listener["id"]}]
    assert pool["provisioning_status"] == "ACTIVE"

    members = [cli.json("loadbalancer", "member", "create", "--address", address,
                        "--protocol-port", "8080", "--wait", "p1")
               for address in ("10.20.0.10", "10.20.0.11")]
    assert [(m["address"], m["protocol_port"], m["weight"]) for m in members] == [
        ("10.20.0.10", 8080, 1), ("10.20.0.11", 8080, 1)]
    assert {m["provisioning_status"] for m in members} == {"ACTIVE"}

    hm = cli.json("loadbalancer", "healthmonitor", "create", "--delay", "5", "--timeout", "3",
                  "--max-retries", "3", "--type", "HTTP", "--url-path", "/health", "--wait",
                  "p1")
    assert (hm["type"], hm["delay"], hm["timeout"], hm["max_retries"], hm["url_path"]) == (
        "HTTP", 5, 3, 3, "/health")
    assert hm["pools"] == [{"id": pool["id"]}]
    assert hm["provisioning_status"] == "ACTIVE"

    assert cli.run("loadbalancer", "set", "--name", "lb1-renamed", "--wait", "lb1").stdout == ""
    shown, status, lb_stats, listener_stats, member_list = cli.json_many(
        ("loadbalancer", "show", "lb1-renamed"),
        ("raw", "loadbalancer", "status", "show", "lb1-renamed"),
        ("loadbalancer", "stats", "show", "lb1-renamed"),
        ("loadbalancer", "listener", "stats", "show", "l1"),
        ("loadbalancer", "member", "list", "p1"),
    )
    assert (shown["id"], shown["name"], shown["provisioning_status"]) == (
        lb["id"], "lb1-renamed", "ACTIVE")

    tree = status["loadbalancer"]
    assert (tree["id"], tree["name"], tree["provisioning_status"]) == (lb["id"], "lb1-renamed",
                                                                      "ACTIVE")
    [tree_listener] = tree["listeners"]
    assert tree_listener["id"] == listener["id"]
    [tree_pool] = tree_listener["pools"]
    assert tree_pool["id"] == pool["id"]
    assert tree_pool["health_monitor"]["id"] == hm["id"]  # Octavia's key in the status tree
    assert sorted(m["id"] for m in tree_pool["members"]) == sorted(m["id"] for m in members)

    for stats in (lb_stats, listener_stats):
        assert set(stats) == STATS_KEYS
        assert all(isinstance(v, int) and v >= 0 for v in stats.values())

    assert sorted((m["address"], m["protocol_port"]) for m in member_list) == [
        ("10.20.0.10", 8080), ("10.20.0.11", 8080)]

    first = members[0]["id"]
    assert cli.run("loadbalancer", "member", "set", "--weight", "5", "--wait", "p1",
                   first).stdout == ""
    member_list, listed = cli.json_many(("loadbalancer", "member", "list", "p1"),
                                        ("loadbalancer", "list"))
    assert {m["id"]: m["weight"] for m in member_list} == {first: 5, members[1]["id"]: 1}
    assert [(x["id"], x["name"], x["provisioning_status"]) for x in listed] == [
        (lb["id"], "lb1-renamed", "ACTIVE")]

    cli.run("loadbalancer", "delete", "--cascade", "--wait", "lb1-renamed")
    assert cli.json("loadbalancer", "list") == []


def test_server_error_reaches_the_user(cli: Cli, live: LiveApi) -> None:
    """A listener on a protocol port already taken: non-zero exit, the server's faultstring.

    (An out-of-range port never reaches the server: octaviaclient checks 1-65535 itself.)
    """
    api = live.api
    caller = api.caller("project-c", "member")  # out of test_full_lifecycle's way
    lb = api.create_lb(caller, name="busy")
    r = caller.post("/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                "protocol": "HTTP", "protocol_port": 8080}})
    assert r.status_code == 201, r.text
    api.wait_active(caller, f"/loadbalancers/{lb['id']}", "loadbalancer")

    done = Cli({**cli.env, "OS_TOKEN": caller.token}).run(
        "loadbalancer", "listener", "create", "--protocol", "HTTP", "--protocol-port", "8080",
        lb["id"], "-f", "json", check=False)

    with live.http(caller.token) as http:  # the same request, sent directly
        direct = http.post("/v2.0/lbaas/listeners", json={"listener": {
            "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 8080}})
    assert direct.status_code == 409, direct.text
    faultstring = direct.json()["faultstring"]
    assert done.returncode != 0
    assert done.stdout == ""
    assert faultstring in done.stderr
    assert "HTTP 409" in done.stderr


def test_unknown_token_is_rejected(cli: Cli) -> None:
    """A token the server does not know: non-zero exit, the server's 401 faultstring."""
    done = Cli({**cli.env, "OS_TOKEN": "not-a-token"}).run("loadbalancer", "list", check=False)
    assert done.returncode != 0
    assert "HTTP 401" in done.stderr
    assert "requires authentication" in done.stderr


@pytest.fixture(scope="module")
def noauth_cli(noauth_live: LiveApi, cli_environ: dict[str, str]) -> Cli:
    """``openstack --os-auth-type none --os-endpoint URL`` (no OS_* variables at all)."""
    return Cli(cli_environ, ("--os-auth-type", "none", "--os-endpoint", noauth_live.url))


def test_auth_none_discovers_the_api(noauth_cli: Cli, noauth_live: LiveApi) -> None:
    """With auth type none the SDK reads the version document at GET / and uses /v2."""
    api = noauth_live.api
    lb = api.create_lb(api.admin, name="seen-via-discovery")
    listed = noauth_cli.json("loadbalancer", "list")
    assert (lb["id"], "seen-via-discovery") in [(x["id"], x["name"]) for x in listed]
    shown = noauth_cli.json("loadbalancer", "show", "seen-via-discovery")
    assert (shown["id"], shown["provisioning_status"]) == (lb["id"], "ACTIVE")


def test_auth_none_creates_with_subnet_lookup(noauth_cli: Cli, noauth_live: LiveApi) -> None:
    """``loadbalancer create --vip-subnet-id`` works through discovery too."""
    lb = noauth_cli.json("loadbalancer", "create", "--name", "discovered",
                         "--vip-subnet-id", noauth_live.api.subnet_id, "--wait")
    assert (lb["name"], lb["provisioning_status"]) == ("discovered", "ACTIVE")
    assert lb["vip_subnet_id"] == noauth_live.api.subnet_id


def test_environment_does_not_leak(cli_environ: dict[str, str]) -> None:
    """The subprocess environment carries no OS_* setting but the isolation file names."""
    leaked = {k for k in cli_environ if k.startswith("OS_")}
    assert leaked == {"OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE"}
    assert cli_environ["HOME"] != os.environ.get("HOME")
