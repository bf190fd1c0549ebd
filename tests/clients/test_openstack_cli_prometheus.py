"""``openstack loadbalancer listener create --protocol PROMETHEUS`` (python-octaviaclient) against a
live server: created with allowed CIDRs, shown back, and a pool on it refused with Octavia's
message."""

from __future__ import annotations

import pytest

from tests.clients.conftest import LiveApi
from tests.clients.osc import OPENSTACK, Cli

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(),
                                reason=f"python-openstackclient not installed ({OPENSTACK})")


@pytest.fixture(scope="module")
def cli(live: LiveApi, cli_environ: dict[str, str]) -> Cli:
    """``openstack`` authenticated as a member of project-a with an admin token."""
    env = {**cli_environ, "OS_AUTH_TYPE": "admin_token", "OS_TOKEN": live.api.member.token,
           "OS_ENDPOINT": live.url}
    return Cli(env)


def test_prometheus_listener_through_the_cli(cli: Cli, live: LiveApi) -> None:
    cli.json("loadbalancer", "create", "--name", "metrics", "--vip-subnet-id",
             live.api.subnet_id, "--wait")
    listener = cli.json("loadbalancer", "listener", "create", "--name", "prom", "--protocol",
                        "PROMETHEUS", "--protocol-port", "9100", "--allowed-cidr",
                        "10.0.0.0/8", "--connection-limit", "10", "--wait", "metrics")
    assert (listener["protocol"], listener["protocol_port"], listener["allowed_cidrs"],
            listener["connection_limit"], listener["provisioning_status"]) == (
        "PROMETHEUS", 9100, ["10.0.0.0/8"], 10, "ACTIVE")
    refused = cli.run("loadbalancer", "pool", "create", "--lb-algorithm", "ROUND_ROBIN",
                      "--listener", "prom", "--protocol", "HTTP", check=False)
    assert refused.returncode != 0
    assert "Protocol PROMETHEUS listeners cannot have child objects." in refused.stderr
    cli.run("loadbalancer", "delete", "--cascade", "--wait", "metrics")
