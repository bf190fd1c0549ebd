"""What an availability zone profile may say to each provider (its zone keys), and the policy
rules of zones and profiles under Octavia's names."""

from __future__ import annotations

import pytest

from lbaas.api.policy import list_rules
from lbaas.providers.haproxy import HaproxyProvider
from lbaas.providers.noop import NoopProvider
from lbaas.services.capabilities import list_key, text_key, zone_data_refusal

KEYS = {"zone": text_key("a zone"), "networks": list_key("networks")}


@pytest.mark.parametrize(("data", "refusal"), [
    ({}, None),
    ({"zone": "r1", "networks": ["n1", "n2"]}, None),
    ({"networks": []}, None),
    ([], "availability_zone_data must be a JSON object"),
    ("zone", "availability_zone_data must be a JSON object"),
    ({"other": 1}, "'other' is not an availability zone capability (supported: networks, zone)"),
    ({"zone": ""}, "zone must be a non-empty string"),
    ({"zone": 3}, "zone must be a non-empty string"),
    ({"networks": "n1"}, "networks must be a list of strings"),
    ({"networks": ["n1", 2]}, "networks must be a list of strings"),
])
def test_zone_data_refusal(data: object, refusal: str | None) -> None:
    assert zone_data_refusal(KEYS, data) == refusal


def test_provider_zone_capabilities() -> None:
    haproxy = HaproxyProvider.zone_keys
    assert sorted(haproxy) == ["agents_zone", "valid_vip_networks"]
    assert sorted(NoopProvider.zone_keys) == ["compute_zone", "management_network",
                                              "valid_vip_networks", "volume_zone"]
    # octavia-tempest-plugin's default [load_balancer] expected_availability_zone_capability:
    assert NoopProvider.zone_keys["compute_zone"].description == "The compute availability zone."
    assert zone_data_refusal(haproxy, {"agents_zone": "rack-1"}) is None
    assert zone_data_refusal(haproxy, {"agents_zone": None}) == \
        "agents_zone must be a non-empty string"
    assert zone_data_refusal(haproxy, {"compute_zone": "nova"}) is not None
    # What octavia-tempest-plugin sends without a configured compute zone:
    tempest = {"compute_zone": None, "management_network": "4b6ac1f6-3b3c-4a59-8f5e-0f3d5cfa9c2a"}
    assert zone_data_refusal(NoopProvider.zone_keys, tempest) is None
    assert zone_data_refusal(NoopProvider.zone_keys, {"compute_zone": 1}) == \
        "compute_zone must be a non-empty string or null"


def test_policy_rules_use_octavias_names_and_roles() -> None:
    rules = {rule.name: rule.check_str for rule in list_rules()}
    prefix = "os_load-balancer_api"
    for action in ("get_all", "get_one"):
        assert rules[f"{prefix}:availability-zone:{action}"] == "rule:load-balancer:read"
    for action in ("post", "put", "delete"):
        assert rules[f"{prefix}:availability-zone:{action}"] == "rule:load-balancer:admin"
    for action in ("get_all", "get_one", "post", "put", "delete"):
        assert rules[f"{prefix}:availability-zone-profile:{action}"] == \
            "rule:load-balancer:admin"
    assert rules[f"{prefix}:provider-availability-zone:get_all"] == "rule:load-balancer:admin"
