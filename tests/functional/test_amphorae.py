"""Octavia's amphora API (``/v2/octavia/amphorae``) over the copies of load balancers: a SINGLE
load balancer's one STANDALONE copy (synthesized, stable id), the two stored copies of an
ACTIVE_STANDBY one, listing with Octavia's filters, ``fields`` and paging, failover (one copy,
or the whole load balancer), configuration refresh, statistics, the refused delete, and the
admin-only policy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lbaas.providers.base import ProviderDriver
from lbaas.schemas.amphora import AmphoraEnvelope, AmphoraList, AmphoraStatsEnvelope
from lbaas.services.amphorae import STANDALONE_NAMESPACE
from tests.databases import DATABASES
from tests.functional.amphora_rows import add_agent, add_copies, set_loadbalancer
from tests.functional.harness import Api, Caller, api_with_completion_delay, wait_for

AMPHORAE = "/v2/octavia/amphorae"
OCTAVIA_FIELDS = ("id", "loadbalancer_id", "compute_id", "lb_network_ip", "vrrp_ip", "ha_ip",
                  "vrrp_port_id", "ha_port_id", "cert_expiration", "cert_busy", "role",
                  "status", "vrrp_interface", "vrrp_id", "vrrp_priority", "cached_zone",
                  "created_at", "updated_at", "image_id", "compute_flavor")
"""What ``openstack loadbalancer amphora show`` prints (python-octaviaclient's AMPHORA_ROWS),
in Octavia's order."""


def fault(response: Any) -> str:
    return str(response.json()["faultstring"])


def listed(caller: Caller, query: str = "") -> list[dict[str, Any]]:
    r = caller.get(f"{AMPHORAE}{query}")
    assert r.status_code == 200, r.text
    AmphoraList.model_validate(r.json())
    return r.json()["amphorae"]  # type: ignore[no-any-return]


def shown(caller: Caller, amp_id: str) -> dict[str, Any]:
    r = caller.get(f"{AMPHORAE}/{amp_id}")
    assert r.status_code == 200, r.text
    return AmphoraEnvelope.model_validate(r.json()).amphora.model_dump(mode="json")


def pair(api: Api, **attrs: Any) -> tuple[dict[str, Any], list[str], list[str]]:
    """An ACTIVE load balancer with two stored copies (MASTER on node-a in zone-1, BACKUP on
    node-b in zone-2): the load balancer, the copies' ids, the agents' ids."""
    lb = api.create_lb(**attrs)
    agents = [add_agent(api, "node-a", "zone-1"), add_agent(api, "node-b", "zone-2")]
    return lb, add_copies(api, lb["id"], agents), agents


def test_a_single_load_balancer_shows_one_synthesized_standalone_amphora(api: Api) -> None:
    lb = api.create_lb(name="single")
    [amp] = listed(api.admin)
    assert tuple(amp) == (*OCTAVIA_FIELDS, "agent_host")
    assert amp["id"] == str(uuid.uuid5(STANDALONE_NAMESPACE, lb["id"]))  # stable, no row
    assert amp == {
        "id": amp["id"], "loadbalancer_id": lb["id"], "compute_id": None,
        "lb_network_ip": None, "vrrp_ip": None, "ha_ip": lb["vip_address"],
        "vrrp_port_id": None, "ha_port_id": lb["vip_port_id"], "cert_expiration": None,
        "cert_busy": False, "role": "STANDALONE", "status": "ALLOCATED",
        "vrrp_interface": None, "vrrp_id": None, "vrrp_priority": None, "cached_zone": None,
        "created_at": lb["created_at"], "updated_at": amp["updated_at"], "image_id": None,
        "compute_flavor": None, "agent_host": None}
    assert shown(api.admin, amp["id"]) == amp
    alias = api.admin.get(f"/v2.0/octavia/amphorae/{amp['id']}")  # python-octaviaclient's path
    assert alias.status_code == 200 and alias.json() == {"amphora": amp}
    assert listed(api.admin) == [amp]  # the same id every time


def test_the_synthesized_status_follows_the_load_balancer_and_its_agent(api: Api) -> None:
    lb = api.create_lb()
    [amp] = listed(api.admin)
    live = add_agent(api, "node-live", "zone-7")
    set_loadbalancer(api, lb["id"], agent_id=live)
    placed = shown(api.admin, amp["id"])
    assert (placed["status"], placed["agent_host"], placed["cached_zone"]) == (
        "ALLOCATED", "node-live", "zone-7")
    set_loadbalancer(api, lb["id"], agent_id=add_agent(api, "node-dead", silent_for=3600))
    assert shown(api.admin, amp["id"])["status"] == "ERROR"  # its agent stopped reporting
    set_loadbalancer(api, lb["id"], agent_id=live)
    for lb_status, amp_status in (("PENDING_CREATE", "PENDING_CREATE"),
                                  ("PENDING_UPDATE", "ALLOCATED"), ("ERROR", "ERROR"),
                                  ("PENDING_DELETE", "PENDING_DELETE"),
                                  ("ACTIVE", "ALLOCATED")):
        set_loadbalancer(api, lb["id"], provisioning_status=lb_status)
        assert shown(api.admin, amp["id"])["status"] == amp_status, lb_status


def test_an_active_standby_pair_shows_both_stored_copies(api: Api) -> None:
    lb, (master, backup), _ = pair(api)
    copies = listed(api.admin, f"?loadbalancer_id={lb['id']}")
    assert [c["id"] for c in copies] == [master, backup]  # creation order
    common = {"loadbalancer_id": lb["id"], "ha_ip": lb["vip_address"],
              "ha_port_id": lb["vip_port_id"], "vrrp_interface": "eth0", "vrrp_id": 1,
              "status": "ALLOCATED", "compute_id": None, "lb_network_ip": None}
    for copy, (role, vrrp_ip, priority, host, zone) in zip(copies, (
            ("MASTER", "10.20.0.201", 100, "node-a", "zone-1"),
            ("BACKUP", "10.20.0.202", 90, "node-b", "zone-2")), strict=True):
        assert {k: copy[k] for k in common} == common
        assert (copy["role"], copy["vrrp_ip"], copy["vrrp_priority"], copy["agent_host"],
                copy["cached_zone"]) == (role, vrrp_ip, priority, host, zone)
        assert copy["vrrp_port_id"] is not None
        assert shown(api.admin, copy["id"]) == copy
    # The pair replaces the synthesized copy: nothing STANDALONE is left of this load balancer.
    standalone = str(uuid.uuid5(STANDALONE_NAMESPACE, lb["id"]))
    assert api.admin.get(f"{AMPHORAE}/{standalone}").status_code == 404


def test_a_noop_active_standby_load_balancer_has_no_rows_and_shows_one_copy(api: Api) -> None:
    profile = api.admin.post("/flavorprofiles", {"flavorprofile": {
        "name": "pair", "provider_name": "noop",
        "flavor_data": '{"loadbalancer_topology": "ACTIVE_STANDBY"}'}}).json()["flavorprofile"]
    flavor = api.admin.post("/flavors", {"flavor": {
        "name": "pair", "flavor_profile_id": profile["id"]}}).json()["flavor"]
    lb = api.create_lb(flavor_id=flavor["id"])
    [amp] = listed(api.admin, f"?loadbalancer_id={lb['id']}")
    assert (amp["role"], amp["status"]) == ("STANDALONE", "ALLOCATED")


def test_filters_fields_sort_and_paging(api: Api) -> None:
    lb, (master, backup), _ = pair(api)
    single = api.create_lb(caller=api.other)
    solo = str(uuid.uuid5(STANDALONE_NAMESPACE, single["id"]))
    everything = listed(api.admin)
    assert [a["id"] for a in everything] == [master, backup, solo]

    def ids(query: str) -> list[str]:
        return [a["id"] for a in listed(api.admin, query)]

    assert ids("?role=MASTER") == [master]
    assert ids("?role=STANDALONE") == [solo]
    assert ids("?status=ALLOCATED&vrrp_priority=90") == [backup]  # an integer filter
    assert ids("?agent_host=node-a") == [master]
    assert ids("?cached_zone=zone-2") == [backup]
    assert ids("?cert_busy=false&vrrp_interface=eth0") == [master, backup]  # a boolean too
    assert ids(f"?loadbalancer_id={single['id']}") == [solo]
    assert ids(f"?ha_ip={lb['vip_address']}") == [master, backup]
    assert ids("?project_id=project-b") == [solo]  # the load balancer's project, as Octavia
    assert ids(f"?id={solo}") == [solo]
    assert ids("?role=FAULT") == []
    assert ids("?sort=agent_host:desc") == [backup, master, solo]  # no host: last descending
    assert ids("?sort_key=vrrp_priority&sort_dir=asc") == [solo, backup, master]

    trimmed = api.admin.get(f"{AMPHORAE}?fields=id,role&role=BACKUP").json()
    assert trimmed == {"amphorae": [{"id": backup, "role": "BACKUP"}], "amphorae_links": []}

    first = api.admin.get(f"{AMPHORAE}?limit=2").json()
    assert [a["id"] for a in first["amphorae"]] == [master, backup]
    [following] = first["amphorae_links"]
    assert following["rel"] == "next" and f"marker={backup}" in following["href"]
    assert following["href"].split("?")[0].endswith(AMPHORAE)
    second = api.admin.get(f"{AMPHORAE}?limit=2&marker={backup}").json()
    assert [a["id"] for a in second["amphorae"]] == [solo]
    assert [link["rel"] for link in second["amphorae_links"]] == ["previous"]
    back = api.admin.get(f"{AMPHORAE}?limit=2&marker={solo}&page_reverse=True").json()
    assert [a["id"] for a in back["amphorae"]] == [master, backup]
    # A marker the filters leave out still marks a place, as on every list.
    assert ids(f"?role=STANDALONE&marker={master}") == [solo]

    for bad in ("?color=red", "?vrrp_priority=high", "?fields=id,nope", "?tags=a",
                "?sort=nope", f"?marker={uuid.uuid4()}", "?limit=0"):
        r = api.admin.get(f"{AMPHORAE}{bad}")
        assert r.status_code == 400, (bad, r.text)
        assert fault(r).startswith("Invalid list query: "), fault(r)


@pytest.mark.parametrize("who", ["member", "reader", "other"])
def test_every_amphora_route_is_admin_only_by_default(api: Api, who: str) -> None:
    api.create_lb()
    [amp] = listed(api.admin)
    caller: Caller = getattr(api, who)
    path = f"{AMPHORAE}/{amp['id']}"
    for method, url, rule in (("get", AMPHORAE, "get_all"), ("get", path, "get_one"),
                              ("put", f"{path}/failover", "put_failover"),
                              ("put", f"{path}/config", "put_config"),
                              ("get", f"{path}/stats", "get_stats"),
                              ("delete", path, "delete")):
        r = (getattr(caller, method)(url, None) if method == "put"
             else getattr(caller, method)(url))
        assert r.status_code == 403, (url, r.text)
        assert f"os_load-balancer_api:amphora:{rule}" in fault(r)


@pytest.fixture(params=DATABASES)
def slow_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Api]:
    """The noop provider takes a second to finish a change: a failed-over load balancer is
    seen PENDING_UPDATE."""
    yield from api_with_completion_delay(request, tmp_path_factory, 1.0)


def test_failover_of_a_standalone_copy_is_the_load_balancers(
        slow_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api = slow_api
    lb = api.create_lb()
    [amp] = listed(api.admin)
    placed: list[str] = []
    noop = api.services.providers.get("noop")
    monkeypatch.setattr(noop, "place_failover", lambda session, lb: placed.append(lb.id))
    r = api.admin.put(f"{AMPHORAE}/{amp['id']}/failover", None)
    assert r.status_code == 202 and r.content == b""
    assert placed == [lb["id"]]
    state = api.admin.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert state["provisioning_status"] == "PENDING_UPDATE"
    assert shown(api.admin, amp["id"])["status"] == "ALLOCATED"  # the copy serves meanwhile
    again = api.admin.put(f"{AMPHORAE}/{amp['id']}/failover", None)
    assert again.status_code == 409, again.text
    api.wait_active(api.admin, f"/loadbalancers/{lb['id']}", "loadbalancer")
    assert placed == [lb["id"]]


def test_failover_of_a_stored_copy_places_that_copy(
        slow_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api = slow_api
    lb, (master, backup), _ = pair(api)
    placed: list[tuple[str, str]] = []
    noop = api.services.providers.get("noop")

    def place(session: Any, lb: Any, amphora: Any) -> None:
        placed.append((lb.id, amphora.id))
        ProviderDriver.place_amphora_failover(noop, session, lb, amphora)  # the base default

    monkeypatch.setattr(noop, "place_amphora_failover", place)
    assert api.admin.put(f"{AMPHORAE}/{backup}/failover", None).status_code == 202
    assert placed == [(lb["id"], backup)]
    state = api.admin.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert state["provisioning_status"] == "PENDING_UPDATE"
    busy = api.admin.put(f"{AMPHORAE}/{master}/failover", None)
    assert busy.status_code == 409, busy.text
    assert fault(busy) == (f"Load Balancer {lb['id']} is immutable and cannot be updated: its "
                           "provisioning_status is PENDING_UPDATE.")
    assert placed == [(lb["id"], backup)]
    api.wait_active(api.admin, f"/loadbalancers/{lb['id']}", "loadbalancer")


def test_failover_needs_an_active_load_balancer_as_in_octavia(api: Api) -> None:
    lb = api.create_lb()
    [amp] = listed(api.admin)
    for status in ("ERROR", "PENDING_UPDATE", "PENDING_DELETE"):
        set_loadbalancer(api, lb["id"], provisioning_status=status)
        r = api.admin.put(f"{AMPHORAE}/{amp['id']}/failover", None)
        assert r.status_code == 409, (status, r.text)
        assert fault(r) == (f"Load Balancer {lb['id']} is immutable and cannot be updated: "
                            f"its provisioning_status is {status}.")
    # The load balancer's own failover still rebuilds an ERROR one.
    set_loadbalancer(api, lb["id"], provisioning_status="ERROR")
    assert api.admin.put(f"/loadbalancers/{lb['id']}/failover", None).status_code == 202


def test_unknown_amphorae_are_404_in_octavias_words(api: Api) -> None:
    api.create_lb()
    some_uuid5 = str(uuid.uuid5(STANDALONE_NAMESPACE, "no such load balancer"))
    for amp_id in (str(uuid.uuid4()), some_uuid5, "not-a-uuid"):
        for method, suffix in (("get", ""), ("put", "/failover"), ("put", "/config"),
                               ("get", "/stats"), ("delete", "")):
            url = f"{AMPHORAE}/{amp_id}{suffix}"
            r = (api.admin.put(url, None) if method == "put"
                 else getattr(api.admin, method)(url))
            assert r.status_code == 404, (url, r.text)
            assert fault(r) == f"Amphora {amp_id} not found."


def test_configuration_refresh_resends_the_load_balancer_and_changes_nothing(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    lb, (master, _backup), _ = pair(api)
    before = api.admin.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    noop = api.services.providers.get("noop")
    told: list[Any] = []
    monkeypatch.setattr(noop, "refresh", lambda ctx, change: told.append(change))
    r = api.admin.put(f"{AMPHORAE}/{master}/config", None)
    assert r.status_code == 202 and r.content == b""
    assert [(c.method, c.lb_id) for c in told] == [("update_loadbalancer", lb["id"])]
    after = api.admin.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert after == before  # no state change: not even PENDING_UPDATE
    set_loadbalancer(api, lb["id"], provisioning_status="PENDING_UPDATE")
    assert api.admin.put(f"{AMPHORAE}/{master}/config", None).status_code == 202  # any status


def test_statistics_per_listener_on_the_copy_carrying_the_traffic(api: Api) -> None:
    lb, (master, backup), _ = pair(api)
    single = api.create_lb()
    [solo] = listed(api.admin, f"?loadbalancer_id={single['id']}")
    empty = api.admin.get(f"{AMPHORAE}/{solo['id']}/stats")
    assert empty.status_code == 404  # no listener, no statistics: Octavia's answer
    assert fault(empty) == f"Amphora stats for {solo['id']} not found."

    listeners = []
    for port in (80, 81):
        r = api.member.post("/listeners", {"listener": {
            "loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": port}})
        assert r.status_code == 201, r.text
        listeners.append(r.json()["listener"]["id"])
        api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    api.services.status.record_stats(lb["id"], {listeners[0]: {
        "bytes_in": 10, "bytes_out": 20, "active_connections": 3, "total_connections": 4,
        "request_errors": 1}}, {})

    def stats(amp_id: str) -> list[dict[str, Any]]:
        r = api.admin.get(f"{AMPHORAE}/{amp_id}/stats")
        assert r.status_code == 200, r.text
        return AmphoraStatsEnvelope.model_validate(r.json()).model_dump()["amphora_stats"]

    zero = {"active_connections": 0, "bytes_in": 0, "bytes_out": 0, "request_errors": 0,
            "total_connections": 0}
    assert stats(master) == [
        {"active_connections": 3, "bytes_in": 10, "bytes_out": 20, "id": master,
         "listener_id": listeners[0], "loadbalancer_id": lb["id"], "request_errors": 1,
         "total_connections": 4},
        {**zero, "id": master, "listener_id": listeners[1], "loadbalancer_id": lb["id"]}]
    assert stats(backup) == [{**zero, "id": backup, "listener_id": li,
                              "loadbalancer_id": lb["id"]} for li in listeners]
    raw = api.admin.get(f"{AMPHORAE}/{master}/stats").json()["amphora_stats"][0]
    assert list(raw) == ["active_connections", "bytes_in", "bytes_out", "id", "listener_id",
                         "loadbalancer_id", "request_errors", "total_connections"]


def test_delete_is_refused_as_octavia_refuses_an_amphora_in_use(api: Api) -> None:
    pair(api)
    api.create_lb()
    for amp in listed(api.admin):
        r = api.admin.delete(f"{AMPHORAE}/{amp['id']}")
        assert r.status_code == 409, r.text
        assert fault(r) == f"Amphora {amp['id']} is immutable and cannot be updated."
    assert len(listed(api.admin)) == 3


def test_a_deleted_load_balancer_takes_its_copies_along(api: Api) -> None:
    lb, copies, _ = pair(api)
    assert api.member.delete(f"/loadbalancers/{lb['id']}").status_code == 204
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb['id']}").status_code,
             lambda status: status == 404)
    assert listed(api.admin) == []
    for amp_id in copies:
        assert api.admin.get(f"{AMPHORAE}/{amp_id}").status_code == 404
