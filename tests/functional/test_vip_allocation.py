"""VIP address allocation when another server takes the chosen address first, on every database:
the (subnet, address) unique key decides, and the create picks another address instead of
failing (leaving the port that holds the address as it was)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lbaas.services import networks
from tests.functional.harness import Api


@pytest.fixture
def first_choice_taken(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make the allocator's first choices (the blind random pick, then the probed ones)
    addresses that are already taken, as if another API server had inserted them just before
    our insert. ``api.extra["stale_choices"]`` says how many (default 1). Yields every address
    handed out, probes included."""
    first = api.create_lb()
    taken = first["vip_address"]
    handed: list[str] = []

    def stale_then(real: Callable[..., str]) -> Callable[..., str]:
        def choose(*args: Any) -> str:
            stale = len(handed) < api.extra.get("stale_choices", 1)
            address = taken if stale else real(*args)
            handed.append(address)
            return address
        return choose

    monkeypatch.setattr(networks, "_random_address", stale_then(networks._random_address))
    monkeypatch.setattr(networks, "_free_address", stale_then(networks._free_address))
    api.extra["taken"], api.extra["taken_port"] = taken, first["vip_port_id"]
    yield handed


def test_taken_choice_is_replaced_by_another_address(api: Api,
                                                     first_choice_taken: list[str]) -> None:
    lb = api.create_lb()
    assert first_choice_taken[0] == api.extra["taken"]
    assert lb["vip_address"] == first_choice_taken[-1] != api.extra["taken"]
    ports = api.member.get("/v2.0/ports").json()["ports"]
    assert {p["fixed_ips"][0]["ip_address"]: p["id"] for p in ports} == {
        api.extra["taken"]: api.extra["taken_port"], lb["vip_address"]: lb["vip_port_id"]}


def test_every_choice_taken_is_409_and_writes_nothing(api: Api,
                                                      first_choice_taken: list[str]) -> None:
    api.extra["stale_choices"] = networks.ALLOCATION_ATTEMPTS
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id,
                                                            "name": "unlucky"}})
    assert r.status_code == 409, r.text
    assert "retry the request" in r.json()["faultstring"]
    assert len(first_choice_taken) == networks.ALLOCATION_ATTEMPTS
    names = [lb["name"] for lb in api.member.get("/loadbalancers").json()["loadbalancers"]]
    assert "unlucky" not in names
    assert len(api.member.get("/v2.0/ports").json()["ports"]) == 1
