"""List queries: pagination with links, sorting, filtering, fields and tag filters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.functional.harness import Api


@pytest.fixture
def five(api: Api) -> list[dict]:  # type: ignore[type-arg]
    tags = [["red"], ["red", "big"], ["blue"], [], ["blue", "big"]]
    return [api.create_lb(name=f"lb{i}", tags=tags[i], wait=False) for i in range(5)]


def _names(r) -> list[str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    return [lb["name"] for lb in r.json()["loadbalancers"]]


def test_pagination_walks_forward_and_back(api: Api, five: list[dict]) -> None:  # type: ignore[type-arg]
    r = api.member.get("/loadbalancers?limit=2&sort=name:asc")
    assert _names(r) == ["lb0", "lb1"]
    links = {link["rel"]: link["href"] for link in r.json()["loadbalancers_links"]}
    assert set(links) == {"next"}
    marker = parse_qs(urlparse(links["next"]).query)["marker"][0]
    r2 = api.member.get(f"/loadbalancers?limit=2&sort=name:asc&marker={marker}")
    assert _names(r2) == ["lb2", "lb3"]
    links2 = {link["rel"]: link["href"] for link in r2.json()["loadbalancers_links"]}
    assert set(links2) == {"next", "previous"}
    back = urlparse(links2["previous"])
    r3 = api.member.get(f"{back.path}?{back.query}")
    assert _names(r3) == ["lb0", "lb1"]
    last = parse_qs(urlparse(links2["next"]).query)["marker"][0]
    r4 = api.member.get(f"/loadbalancers?limit=2&sort=name:asc&marker={last}")
    assert _names(r4) == ["lb4"]
    assert [link["rel"] for link in r4.json()["loadbalancers_links"]] == ["previous"]


def test_sort_keys_and_directions(api: Api, five: list[dict]) -> None:  # type: ignore[type-arg]
    assert _names(api.member.get("/loadbalancers?sort=name:desc")) == \
        ["lb4", "lb3", "lb2", "lb1", "lb0"]
    assert _names(api.member.get("/loadbalancers?sort_key=name&sort_dir=desc"))[0] == "lb4"
    assert _names(api.member.get("/loadbalancers")) == ["lb0", "lb1", "lb2", "lb3", "lb4"]


def test_filters_on_attributes(api: Api, five: list[dict]) -> None:  # type: ignore[type-arg]
    assert _names(api.member.get("/loadbalancers?name=lb3")) == ["lb3"]
    vip = five[2]["vip_address"]
    assert _names(api.member.get(f"/loadbalancers?vip_address={vip}")) == ["lb2"]
    assert len(_names(api.member.get("/loadbalancers?admin_state_up=true"))) == 5
    assert _names(api.member.get("/loadbalancers?admin_state_up=false")) == []


def test_tag_filters(api: Api, five: list[dict]) -> None:  # type: ignore[type-arg]
    assert _names(api.member.get("/loadbalancers?tags=red")) == ["lb0", "lb1"]
    assert _names(api.member.get("/loadbalancers?tags=red,big")) == ["lb1"]
    assert _names(api.member.get("/loadbalancers?tags-any=red,blue")) == \
        ["lb0", "lb1", "lb2", "lb4"]
    assert _names(api.member.get("/loadbalancers?not-tags=big")) == ["lb0", "lb2", "lb3"]
    assert _names(api.member.get("/loadbalancers?not-tags-any=red,blue")) == ["lb3"]


def test_fields_selects_attributes(api: Api, five: list[dict]) -> None:  # type: ignore[type-arg]
    r = api.member.get("/loadbalancers?fields=id&fields=name")
    assert all(set(lb) == {"id", "name"} for lb in r.json()["loadbalancers"])
    r = api.member.get("/loadbalancers?fields=id,vip_address")
    assert all(set(lb) == {"id", "vip_address"} for lb in r.json()["loadbalancers"])


@pytest.mark.parametrize("query", [
    "limit=0", "limit=-1", "limit=abc", "sort=name:sideways", "sort=nosuchkey",
    "sort_key=password", "marker=00000000-0000-0000-0000-000000000000", "page_reverse=maybe",
    "admin_state_up=perhaps", "nosuchattribute=1", "fields=nosuchfield",
])
def test_bad_list_parameters_are_400(api: Api, query: str) -> None:
    r = api.member.get(f"/loadbalancers?{query}")
    assert r.status_code == 400, query
    assert "Invalid list query" in r.json()["faultstring"]


def test_children_list_filters(api: Api) -> None:
    from tests.functional.tree import create_tree

    ids = create_tree(api)
    create_tree(api)
    r = api.member.get(f"/listeners?loadbalancer_id={ids['lb']}")
    assert [li["id"] for li in r.json()["listeners"]] == [ids["listener"]]
    r = api.member.get(f"/pools?loadbalancer_id={ids['lb']}")
    assert [p["id"] for p in r.json()["pools"]] == [ids["pool"]]
    r = api.member.get(f"/healthmonitors?pool_id={ids['pool']}")
    assert [h["id"] for h in r.json()["healthmonitors"]] == [ids["hm"]]
    r = api.member.get(f"/pools/{ids['pool']}/members?address=10.20.1.2")
    assert len(r.json()["members"]) == 1
