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


def test_strings_compare_exactly(api: Api) -> None:
    """Case and trailing spaces count, in filters, tag filters, tags and ids, on every database
    (MySQL's default collations ignore both)."""
    web = api.create_lb(name="Web", tags=["Blue", "blue"], wait=False)
    api.create_lb(name="Web ", wait=False)
    assert web["tags"] == ["Blue", "blue"]
    assert _names(api.member.get("/loadbalancers?name=web")) == []
    assert _names(api.member.get("/loadbalancers?name=Web")) == ["Web"]
    assert _names(api.member.get("/loadbalancers?tags=BLUE")) == []
    assert _names(api.member.get("/loadbalancers?tags=blue")) == ["Web"]
    assert _names(api.member.get("/loadbalancers?sort=name:desc")) == ["Web ", "Web"]
    assert api.member.get(f"/loadbalancers/{web['id'].upper()}").status_code == 404


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


def test_float_filters_match_what_was_stored(api: Api) -> None:
    from tests.functional.tree import create_tree

    ids = create_tree(api)
    r = api.member.put(f"/healthmonitors/{ids['hm']}", {"healthmonitor": {
        "http_version": 1.1, "domain_name": "example.com"}})
    assert r.status_code == 200, r.text
    api.wait_active(api.member, f"/loadbalancers/{ids['lb']}", "loadbalancer")
    r = api.member.get("/healthmonitors?http_version=1.1")
    assert [h["id"] for h in r.json()["healthmonitors"]] == [ids["hm"]]
    assert r.json()["healthmonitors"][0]["http_version"] == 1.1


def _flavor_objects(api: Api) -> tuple[list[str], list[str]]:
    """Three flavor profiles and three flavors named c, a, b (ids, created in that order)."""
    profiles, flavors = [], []
    for name in ("c", "a", "b"):
        r = api.admin.post("/flavorprofiles", {"flavorprofile": {
            "name": f"profile-{name}", "provider_name": "noop", "flavor_data": "{}"}})
        assert r.status_code == 201, r.text
        profiles.append(r.json()["flavorprofile"]["id"])
        r = api.admin.post("/flavors", {"flavor": {
            "name": f"flavor-{name}", "flavor_profile_id": profiles[-1],
            "enabled": name != "b"}})
        assert r.status_code == 201, r.text
        flavors.append(r.json()["flavor"]["id"])
    return profiles, flavors


@pytest.mark.parametrize(("collection", "caller"), [("flavors", "member"),
                                                    ("flavorprofiles", "admin")])
def test_flavors_and_profiles_list_like_every_collection(api: Api, collection: str,
                                                         caller: str) -> None:
    """Sorting (``sort`` and ``sort_key``/``sort_dir``; by id by default, as in Octavia, as they
    have no creation time), paging with links, filters and ``fields``."""
    profiles, flavors = _flavor_objects(api)
    prefix = "flavor" if collection == "flavors" else "profile"
    get = getattr(api, caller).get

    def names(query: str) -> list[str]:
        r = get(f"/{collection}?{query}")
        assert r.status_code == 200, r.text
        return [obj["name"] for obj in r.json()[collection]]

    expected = [f"{prefix}-{n}" for n in ("a", "b", "c")]
    assert names("sort=name") == expected
    assert names("sort=name:desc") == expected[::-1]
    assert names("sort_key=name&sort_dir=desc") == expected[::-1]
    ids = profiles if collection == "flavorprofiles" else flavors
    by_id = sorted(zip(ids, ("c", "a", "b"), strict=True))
    assert names("") == [f"{prefix}-{n}" for _, n in by_id]
    r = get(f"/{collection}?sort=name&limit=2")
    assert [o["name"] for o in r.json()[collection]] == expected[:2]
    [link] = r.json()[f"{collection}_links"]
    assert link["rel"] == "next"
    marker = parse_qs(urlparse(link["href"]).query)["marker"][0]
    assert names(f"sort=name&limit=2&marker={marker}") == expected[2:]
    assert names(f"sort=name&limit=2&marker={marker}&page_reverse=true") == expected[:1]
    assert names(f"name={prefix}-b") == [f"{prefix}-b"]
    r = get(f"/{collection}?fields=name&sort=name")
    assert r.json()[collection] == [{"name": n} for n in expected]
    assert get(f"/{collection}?sort=colour").status_code == 400
    assert get(f"/{collection}?fields=colour").status_code == 400
    if collection == "flavors":
        assert names("enabled=false") == ["flavor-b"]


def test_providers_and_their_capabilities_honour_fields(api: Api) -> None:
    """``fields`` as on every collection; a provider's flavor capabilities are also filtered by
    ``name`` and ``description``, as Octavia does."""
    r = api.member.get("/providers?fields=name")
    assert r.status_code == 200, r.text
    names = [p["name"] for p in r.json()["providers"]]
    assert "noop" in names and r.json()["providers"] == [{"name": n} for n in names]
    assert api.member.get("/providers?fields=colour").status_code == 400
    path = "/providers/noop/flavor_capabilities"
    everything = api.admin.get(path).json()["flavor_capabilities"]
    assert everything and all(set(c) == {"name", "description"} for c in everything)
    first = everything[0]
    r = api.admin.get(f"{path}?fields=description&name={first['name']}")
    assert r.status_code == 200, r.text
    assert r.json()["flavor_capabilities"] == [{"description": first["description"]}]
    r = api.admin.get(f"{path}?fields=name&description={first['description']}")
    assert r.json()["flavor_capabilities"] == [{"name": first["name"]}]
    assert api.admin.get(f"{path}?name=nothing").json()["flavor_capabilities"] == []
    unknown = api.admin.get("/providers/nothing/flavor_capabilities")
    assert unknown.status_code == 400, unknown.text  # Octavia's ProviderNotEnabled
    assert unknown.json()["faultstring"] == "Provider 'nothing' is not enabled."
