"""Availability zones and their profiles through the API (Octavia 2.14's wire format): CRUD,
validation against the provider's zone capabilities, policy per role, objects in use, and load
balancers created in a zone (unknown, disabled or another provider's zone: 400; allowed VIP
networks). Placement on a zone's agents is in ``test_availability_zone_scheduling.py``."""

from __future__ import annotations

import json
from typing import Any

from tests.functional.harness import Api, wait_for

PROFILES, ZONES = "/availabilityzoneprofiles", "/availabilityzones"
NOOP_DATA = json.dumps({"compute_zone": "az1", "management_network":
                        "4b6ac1f6-3b3c-4a59-8f5e-0f3d5cfa9c2a"})


def make_profile(api: Api, name: str = "p1", provider: str = "noop",
                 data: str = NOOP_DATA) -> dict[str, Any]:
    r = api.admin.post(PROFILES, {"availability_zone_profile": {
        "name": name, "provider_name": provider, "availability_zone_data": data}})
    assert r.status_code == 201, r.text
    return r.json()["availability_zone_profile"]  # type: ignore[no-any-return]


def make_zone(api: Api, name: str, profile_id: str, **extra: Any) -> dict[str, Any]:
    r = api.admin.post(ZONES, {"availability_zone": {
        "name": name, "availability_zone_profile_id": profile_id, **extra}})
    assert r.status_code == 201, r.text
    return r.json()["availability_zone"]  # type: ignore[no-any-return]


def fault(response: Any) -> str:
    return str(response.json()["faultstring"])


def test_profile_lifecycle_in_octavias_wire_format(api: Api) -> None:
    profile = make_profile(api)
    assert set(profile) == {"id", "name", "provider_name", "availability_zone_data"}
    assert (profile["name"], profile["provider_name"], profile["availability_zone_data"]) == (
        "p1", "noop", NOOP_DATA)  # the JSON text exactly as sent
    shown = api.admin.get(f"{PROFILES}/{profile['id']}")
    assert shown.status_code == 200 and shown.json() == {"availability_zone_profile": profile}
    listed = api.admin.get(PROFILES).json()
    assert listed == {"availability_zone_profiles": [profile],
                      "availability_zone_profile_links": []}
    new_data = json.dumps({"compute_zone": "az2"})
    r = api.admin.put(f"{PROFILES}/{profile['id']}", {"availability_zone_profile": {
        "name": "p2", "availability_zone_data": new_data}})
    assert r.status_code == 200, r.text
    assert r.json()["availability_zone_profile"] == {**profile, "name": "p2",
                                                     "availability_zone_data": new_data}
    assert api.admin.delete(f"{PROFILES}/{profile['id']}").status_code == 204
    missing = api.admin.get(f"{PROFILES}/{profile['id']}")
    assert missing.status_code == 404
    assert fault(missing) == f"Availability Zone Profile {profile['id']} could not be found."
    assert api.admin.delete(f"{PROFILES}/{profile['id']}").status_code == 404


def test_profile_data_is_checked_against_the_providers_capabilities(api: Api) -> None:
    def create(provider: str, data: str, **extra: Any) -> Any:
        return api.admin.post(PROFILES, {"availability_zone_profile": {
            "name": "p", "provider_name": provider, "availability_zone_data": data, **extra}})

    not_json = create("noop", "{nope")
    assert not_json.status_code == 400
    assert fault(not_json) == "{nope is not a valid option for availability_zone_data"
    unknown_key = create("noop", '{"agents_zone": "a"}')
    assert unknown_key.status_code == 501
    assert fault(unknown_key).startswith(
        "Provider 'noop' does not support a requested option: 'agents_zone' is not an "
        "availability zone capability")
    assert create("haproxy", '{"agents_zone": "rack-1"}').status_code == 201
    assert create("haproxy", '{"compute_zone": "az1"}').status_code == 501
    wrong_type = create("haproxy", '{"agents_zone": 7}')
    assert wrong_type.status_code == 501 and "agents_zone must be" in fault(wrong_type)
    networks = create("haproxy", '{"valid_vip_networks": "net"}')
    assert networks.status_code == 501 and "valid_vip_networks must be" in fault(networks)
    assert create("noop", "[]").status_code == 501  # not an object
    not_enabled = create("amphora", "{}")
    assert not_enabled.status_code == 400
    assert fault(not_enabled) == "Provider 'amphora' is not enabled."
    assert create("noop", "{}", tags=["a"]).status_code == 400  # no tags on profiles
    profile = make_profile(api, provider="haproxy", data='{"agents_zone": "rack-1"}')
    path = f"{PROFILES}/{profile['id']}"
    for field in ("name", "provider_name", "availability_zone_data"):
        r = api.admin.put(path, {"availability_zone_profile": {field: None}})
        assert r.status_code == 400 and fault(r) == f"None is not a valid option for {field}"
    # The data must suit the new provider too.
    r = api.admin.put(path, {"availability_zone_profile": {"provider_name": "noop"}})
    assert r.status_code == 501, r.text
    r = api.admin.put(path, {"availability_zone_profile": {
        "provider_name": "noop", "availability_zone_data": '{"volume_zone": "v1"}'}})
    assert r.status_code == 200 and r.json()["availability_zone_profile"]["provider_name"] == \
        "noop"


def test_zone_lifecycle_in_octavias_wire_format(api: Api) -> None:
    profile = make_profile(api)
    zone = make_zone(api, "zone-a", profile["id"], description="first")
    assert zone == {"name": "zone-a", "description": "first", "enabled": True,
                    "availability_zone_profile_id": profile["id"]}
    assert make_zone(api, "zone-b", profile["id"])["description"] is None
    duplicate = api.admin.post(ZONES, {"availability_zone": {
        "name": "zone-a", "availability_zone_profile_id": profile["id"]}})
    assert duplicate.status_code == 409
    assert fault(duplicate) == "A availability zone of zone-a already exists."
    no_profile = api.admin.post(ZONES, {"availability_zone": {
        "name": "zone-c", "availability_zone_profile_id": "4b6ac1f6-3b3c-4a59-8f5e-0f3d5cfa9c2a"}})
    assert no_profile.status_code == 400
    assert api.admin.post(ZONES, {"availability_zone": {"name": "zone-d"}}).status_code == 400
    assert api.member.get(f"{ZONES}/zone-a").json() == {"availability_zone": zone}
    r = api.admin.put(f"{ZONES}/zone-a", {"availability_zone": {"description": "x",
                                                                "enabled": False}})
    assert r.status_code == 200
    assert r.json()["availability_zone"] == {**zone, "description": "x", "enabled": False}
    assert api.admin.put(f"{ZONES}/zone-a", {"availability_zone": {
        "name": "renamed"}}).status_code == 400  # the name is the key
    assert api.admin.put(f"{ZONES}/zone-a", {"availability_zone": {
        "enabled": None}}).status_code == 400
    assert api.admin.put(f"{ZONES}/nowhere", {"availability_zone": {
        "enabled": True}}).status_code == 404
    assert api.admin.delete(f"{ZONES}/zone-a").status_code == 204
    missing = api.member.get(f"{ZONES}/zone-a")
    assert missing.status_code == 404
    assert fault(missing) == "Availability Zone zone-a could not be found."


def test_lists_sort_select_fields_filter_and_page(api: Api) -> None:
    profiles = [make_profile(api, name) for name in ("pa", "pc", "pb")]
    by_id = sorted(p["id"] for p in profiles)
    listed = api.admin.get(PROFILES).json()["availability_zone_profiles"]
    assert [p["id"] for p in listed] == by_id  # Octavia's default order: id
    names = api.admin.get(PROFILES, params={"sort": "name:desc", "fields": "name"}).json()
    assert names["availability_zone_profiles"] == [{"name": n} for n in ("pc", "pb", "pa")]
    only = api.admin.get(PROFILES, params={"name": "pb", "provider_name": "noop"}).json()
    assert [p["name"] for p in only["availability_zone_profiles"]] == ["pb"]
    for name, enabled in (("zc", True), ("za", True), ("zb", False)):
        make_zone(api, name, profiles[0]["id"], enabled=enabled)
    zones = api.reader.get(ZONES).json()
    assert [z["name"] for z in zones["availability_zones"]] == ["za", "zb", "zc"]  # by name
    assert zones["availability_zones_links"] == []
    enabled = api.member.get(ZONES, params={"enabled": "True", "fields": "name",
                                            "sort": "name:desc"}).json()
    assert enabled["availability_zones"] == [{"name": "zc"}, {"name": "za"}]
    first = api.member.get(ZONES, params={"limit": 2}).json()
    assert [z["name"] for z in first["availability_zones"]] == ["za", "zb"]
    [link] = first["availability_zones_links"]
    assert link["rel"] == "next" and "marker=zb" in link["href"]
    rest = api.member.get(ZONES, params={"limit": 2, "marker": "zb"}).json()
    assert [z["name"] for z in rest["availability_zones"]] == ["zc"]
    assert [x["rel"] for x in rest["availability_zones_links"]] == ["previous"]
    back = api.member.get(ZONES, params={"limit": 2, "marker": "zc",
                                         "page_reverse": "True"}).json()
    assert [z["name"] for z in back["availability_zones"]] == ["za", "zb"]
    assert api.member.get(ZONES, params={"tags": "x"}).status_code == 400
    assert api.member.get(ZONES, params={"fields": "id"}).status_code == 400
    assert api.member.get(ZONES, params={"sort": "nope"}).status_code == 400


def test_policy_readers_see_zones_only_admins_change_them_or_see_profiles(api: Api) -> None:
    profile = make_profile(api)
    make_zone(api, "zone-a", profile["id"])
    body = {"availability_zone": {"name": "z", "availability_zone_profile_id": profile["id"]}}
    prof_body = {"availability_zone_profile": {"name": "p", "provider_name": "noop",
                                               "availability_zone_data": "{}"}}
    for caller in (api.reader, api.member, api.other):
        assert caller.get(ZONES).status_code == 200
        assert caller.get(f"{ZONES}/zone-a").status_code == 200
        assert caller.post(ZONES, body).status_code == 403
        assert caller.put(f"{ZONES}/zone-a", {"availability_zone": {
            "enabled": False}}).status_code == 403
        assert caller.delete(f"{ZONES}/zone-a").status_code == 403
        assert caller.get(PROFILES).status_code == 403
        assert caller.get(f"{PROFILES}/{profile['id']}").status_code == 403
        assert caller.post(PROFILES, prof_body).status_code == 403
        assert caller.put(f"{PROFILES}/{profile['id']}", {
            "availability_zone_profile": {"name": "x"}}).status_code == 403
        assert caller.delete(f"{PROFILES}/{profile['id']}").status_code == 403
        assert caller.get("/providers/noop/availability_zone_capabilities").status_code == 403
    denied = api.member.post(ZONES, body)
    assert "os_load-balancer_api:availability-zone:post" in fault(denied)
    assert "os_load-balancer_api:availability-zone-profile:get_all" in fault(
        api.reader.get(PROFILES))
    assert api.admin.get(ZONES).json()["availability_zones"][0]["enabled"] is True


def test_objects_in_use_cannot_be_deleted_or_repurposed(api: Api) -> None:
    profile = make_profile(api)
    make_zone(api, "zone-a", profile["id"])
    path = f"{PROFILES}/{profile['id']}"
    busy = api.admin.delete(path)
    assert busy.status_code == 409
    assert fault(busy) == (f"Availability Zone Profile {profile['id']} is in use and cannot "
                           "be modified.")
    for change in ({"availability_zone_data": "{}"}, {"provider_name": "haproxy"}):
        r = api.admin.put(path, {"availability_zone_profile": change})
        assert r.status_code == 409, r.text
    assert api.admin.put(path, {"availability_zone_profile": {"name": "renamed"}}
                         ).status_code == 200
    lb = api.create_lb(availability_zone="zone-a")
    assert lb["availability_zone"] == "zone-a"
    busy = api.admin.delete(f"{ZONES}/zone-a")
    assert busy.status_code == 409
    assert fault(busy) == "Availability Zone zone-a is in use and cannot be modified."
    assert api.member.delete(f"/loadbalancers/{lb['id']}").status_code == 204
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb['id']}").status_code,
             lambda status: status == 404)
    assert api.admin.delete(f"{ZONES}/zone-a").status_code == 204
    assert api.admin.delete(path).status_code == 204


def test_load_balancer_in_a_zone(api: Api) -> None:
    profile = make_profile(api)
    make_zone(api, "zone-a", profile["id"])
    make_zone(api, "zone-off", profile["id"], enabled=False)
    lb = api.create_lb(availability_zone="zone-a")
    assert lb["availability_zone"] == "zone-a"
    listed = api.member.get("/loadbalancers", params={"availability_zone": "zone-a"}).json()
    assert [x["id"] for x in listed["loadbalancers"]] == [lb["id"]]
    assert api.create_lb()["availability_zone"] is None

    def refused(zone: str, **extra: Any) -> str:
        r = api.member.post("/loadbalancers", {"loadbalancer": {
            "vip_subnet_id": api.subnet_id, "availability_zone": zone, **extra}})
        assert r.status_code == 400, r.text
        return fault(r)

    assert refused("nowhere") == "Validation failure: Invalid availability zone."
    assert refused("zone-off") == ("The selected availability_zone is not allowed in this "
                                   "deployment: zone-off")
    haproxy = make_profile(api, "hp", provider="haproxy", data='{"agents_zone": "rack-1"}')
    make_zone(api, "zone-hp", haproxy["id"])
    assert refused("zone-hp") == ("Availability zone 'zone-hp' is not compatible with provider "
                                  "'noop'")
    other_net = make_profile(api, "nets", data=json.dumps(
        {"valid_vip_networks": ["0c9cfe1e-8b5b-4e0f-8d0a-0b7a3c1f5e11"]}))
    make_zone(api, "zone-nets", other_net["id"])
    assert refused("zone-nets") == ("Validation failure: Supplied VIP network_id is not allowed "
                                    "by the configuration of this deployment.")
    this_net = make_profile(api, "this-net", data=json.dumps(
        {"valid_vip_networks": [api.network_id.upper()]}))
    make_zone(api, "zone-this-net", this_net["id"])
    assert api.create_lb(availability_zone="zone-this-net")["vip_network_id"] == api.network_id
    assert len(api.member.get("/loadbalancers").json()["loadbalancers"]) == 3  # nothing else


def test_provider_availability_zone_capabilities(api: Api) -> None:
    def capabilities(provider: str, **params: str) -> Any:
        r = api.admin.get(f"/providers/{provider}/availability_zone_capabilities",
                          params=params)
        assert r.status_code == 200, r.text
        return r.json()["availability_zone_capabilities"]

    assert [c["name"] for c in capabilities("haproxy")] == ["agents_zone",
                                                            "valid_vip_networks"]
    assert [c["name"] for c in capabilities("noop")] == [
        "compute_zone", "management_network", "valid_vip_networks", "volume_zone"]
    assert all(c["description"] for c in capabilities("noop"))
    assert capabilities("haproxy", name="agents_zone", fields="description") == [
        {"description": capabilities("haproxy")[0]["description"]}]
    assert capabilities("noop", name="nope") == []
    missing = api.admin.get("/providers/amphora/availability_zone_capabilities")
    assert missing.status_code == 400 and fault(missing) == "Provider 'amphora' is not enabled."
