"""VIP address allocation when another server takes the chosen address first, on SQLite and
on PostgreSQL: the (subnet, address) unique key decides, and the create picks another address
instead of failing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lbaas.services import networks
from tests.functional.harness import Api


@pytest.fixture
def first_choice_taken(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make the allocator's first choices addresses that are already taken, as if another API
    server had inserted them between our probe and our insert. Yields the addresses handed out.
    """
    taken = api.create_lb()["vip_address"]
    real = networks._free_address
    handed: list[str] = []

    def stale_then_real(session: object, subnet: networks.SubnetInfo) -> str:
        address = taken if len(handed) < api.extra.get("stale_choices", 1) else real(
            session, subnet)  # type: ignore[arg-type]
        handed.append(address)
        return address

    monkeypatch.setattr(networks, "_free_address", stale_then_real)
    api.extra["taken"] = taken
    yield handed


def test_taken_choice_is_replaced_by_another_address(api: Api,
                                                     first_choice_taken: list[str]) -> None:
    lb = api.create_lb()
    assert first_choice_taken[0] == api.extra["taken"]
    assert lb["vip_address"] == first_choice_taken[-1] != api.extra["taken"]
    ports = api.member.get("/v2.0/ports").json()["ports"]
    assert sorted(p["fixed_ips"][0]["ip_address"] for p in ports) == sorted(
        [api.extra["taken"], lb["vip_address"]])


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
