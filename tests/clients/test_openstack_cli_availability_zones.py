"""``openstack loadbalancer availabilityzoneprofile|availabilityzone ...`` (python-octaviaclient,
unchanged) against a live server: an operator defines a zone, a member creates a load balancer
in it, and the zone cannot be deleted while the load balancer is in it."""

from __future__ import annotations

import json

import pytest

from tests.clients.conftest import LiveApi
from tests.clients.osc import OPENSTACK, Cli

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(),
                                reason=f"python-openstackclient not installed ({OPENSTACK})")


def _cli(live: LiveApi, request: pytest.FixtureRequest, token: str) -> Cli:
    environ = request.getfixturevalue("cli_environ")
    return Cli({**environ, "OS_AUTH_TYPE": "admin_token", "OS_TOKEN": token,
                "OS_ENDPOINT": live.url})


def test_operator_defines_a_zone_and_a_member_uses_it(live: LiveApi,
                                                      request: pytest.FixtureRequest) -> None:
    admin = _cli(live, request, live.api.admin.token)
    member = _cli(live, request, live.api.member.token)
    data = json.dumps({"compute_zone": "az1"})
    profile = admin.json("loadbalancer", "availabilityzoneprofile", "create", "--name",
                         "azp1", "--provider", "noop", "--availability-zone-data", data)
    assert (profile["name"], profile["provider_name"], profile["availability_zone_data"]) == (
        "azp1", "noop", data)
    zone = admin.json("loadbalancer", "availabilityzone", "create", "--name", "az1",
                      "--availabilityzoneprofile", "azp1", "--description", "rack one")
    assert zone == {"name": "az1", "description": "rack one", "enabled": True,
                    "availability_zone_profile_id": profile["id"]}
    capabilities, profiles, shown_profile = admin.json_many(
        ("loadbalancer", "provider", "capability", "list", "noop", "--availability-zone"),
        ("loadbalancer", "availabilityzoneprofile", "list"),
        ("loadbalancer", "availabilityzoneprofile", "show", "azp1"),
    )
    assert {c["name"] for c in capabilities} == {"compute_zone", "volume_zone",
                                                 "management_network", "valid_vip_networks"}
    assert [p["id"] for p in profiles] == [profile["id"]]
    assert shown_profile["availability_zone_data"] == data

    admin.run("loadbalancer", "availabilityzone", "set", "--description", "rack 1", "az1")
    listed, shown = member.json_many(("loadbalancer", "availabilityzone", "list"),
                                     ("loadbalancer", "availabilityzone", "show", "az1"))
    assert [(z["name"], z["enabled"]) for z in listed] == [("az1", True)]
    assert shown["description"] == "rack 1"
    assert member.run("loadbalancer", "availabilityzoneprofile", "list",
                      check=False).returncode != 0  # profiles are the operator's

    lb = member.json("loadbalancer", "create", "--name", "in-az1", "--vip-subnet-id",
                     live.api.subnet_id, "--availability-zone", "az1", "--wait")
    assert (lb["availability_zone"], lb["provisioning_status"]) == ("az1", "ACTIVE")
    busy = admin.run("loadbalancer", "availabilityzone", "delete", "az1", check=False)
    assert busy.returncode != 0 and "in use" in busy.stderr
    admin.run("loadbalancer", "availabilityzone", "set", "--disable", "az1")
    refused = member.run("loadbalancer", "create", "--vip-subnet-id", live.api.subnet_id,
                         "--availability-zone", "az1", check=False)
    assert refused.returncode != 0 and "not allowed in this deployment" in refused.stderr

    member.run("loadbalancer", "delete", "--wait", "in-az1")
    admin.run("loadbalancer", "availabilityzone", "unset", "--description", "az1")
    assert admin.json("loadbalancer", "availabilityzone", "show", "az1")["description"] is None
    admin.run("loadbalancer", "availabilityzone", "delete", "az1")
    admin.run("loadbalancer", "availabilityzoneprofile", "set", "--name", "azp2", "azp1")
    admin.run("loadbalancer", "availabilityzoneprofile", "delete", "azp2")
    assert admin.json("loadbalancer", "availabilityzone", "list") == []
    assert admin.json("loadbalancer", "availabilityzoneprofile", "list") == []
