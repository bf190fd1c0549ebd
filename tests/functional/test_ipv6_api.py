"""IPv6 through the API, on SQLite and PostgreSQL: an admin registers an IPv6 subnet, load
balancers take VIPs from it (allocated or chosen), members, monitor addresses and allowed CIDRs
are IPv6, addresses are normalised, and zone ids (``fe80::1%eth0``, which Python's parser would
keep with any text after the ``%``) are refused with 400."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from lbaas.services import networks
from tests.functional.harness import Api, wait_for

V6_CIDR = "fd00:7a11:0:1::/64"


def _subnet(api: Api, cidr: str = V6_CIDR, network_id: str | None = None,
            **extra: Any) -> Any:
    return api.admin.post("/v2.0/subnets", {"subnet": {
        "network_id": network_id or api.network_id, "cidr": cidr, **extra}})


def _v6_subnet(api: Api, **extra: Any) -> dict[str, Any]:
    """A registered IPv6 subnet on the test network (the v4 one stays the oldest)."""
    r = _subnet(api, **extra)
    assert r.status_code == 201, r.text
    return dict(r.json()["subnet"])


def _listener_and_pool(api: Api, lb_id: str, **listener: Any) -> tuple[str, str]:
    r = api.member.post("/listeners", {"listener": {
        "loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80, **listener}})
    assert r.status_code == 201, r.text
    listener_id = r.json()["listener"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{lb_id}", "loadbalancer")
    r = api.member.post("/pools", {"pool": {"listener_id": listener_id, "protocol": "HTTP",
                                            "lb_algorithm": "ROUND_ROBIN"}})
    assert r.status_code == 201, r.text
    api.wait_active(api.member, f"/loadbalancers/{lb_id}", "loadbalancer")
    return listener_id, r.json()["pool"]["id"]


def test_ipv6_subnet_registration_defaults(api: Api) -> None:
    subnet = _v6_subnet(api)
    assert subnet["ip_version"] == 6
    assert subnet["cidr"] == V6_CIDR
    assert subnet["gateway_ip"] == "fd00:7a11:0:1::1"
    assert subnet["allocation_pools"] == [
        {"start": "fd00:7a11:0:1::2", "end": "fd00:7a11:0:1:ffff:ffff:ffff:ffff"}]
    shown = api.member.get(f"/v2.0/subnets/{subnet['id']}").json()["subnet"]
    assert shown["ip_version"] == 6


def test_ipv6_subnet_explicit_values_are_normalised(api: Api) -> None:
    subnet = _v6_subnet(api, cidr="FD00:7A11:0:2:0::5/64", ip_version=6,
                        gateway_ip="fd00:7a11:0:2:0:0:0:fffe",
                        allocation_pools=[{"start": "fd00:7a11:0:2::100",
                                           "end": "FD00:7A11:0:2::1FF"}])
    assert subnet["cidr"] == "fd00:7a11:0:2::/64"
    assert subnet["gateway_ip"] == "fd00:7a11:0:2::fffe"
    assert subnet["allocation_pools"] == [{"start": "fd00:7a11:0:2::100",
                                           "end": "fd00:7a11:0:2::1ff"}]


@pytest.mark.parametrize("body", [
    pytest.param({"ip_version": 4}, id="version-mismatch"),
    pytest.param({"cidr": "fd00:7a11::/127"}, id="too-small"),
    pytest.param({"cidr": "fd00:7a11::%eth0/64"}, id="zone-id-cidr"),
    pytest.param({"gateway_ip": "fd00:7a11:0:1::1%eth0"}, id="zone-id-gateway"),
    pytest.param({"gateway_ip": "fd00:7a12::1"}, id="gateway-outside"),
    pytest.param({"allocation_pools": [{"start": "fd00:7a11:0:1::10",
                                        "end": "fd00:7a11:0:2::10"}]}, id="pool-outside"),
])
def test_bad_ipv6_subnet_is_400(api: Api, body: dict[str, Any]) -> None:
    r = _subnet(api, **body)
    assert r.status_code == 400, r.text


def test_allocated_ipv6_vips_are_free_addresses_of_the_subnet(api: Api) -> None:
    subnet = _v6_subnet(api)
    net = ipaddress.ip_network(V6_CIDR)
    vips = [api.create_lb(vip_subnet_id=subnet["id"])["vip_address"] for _ in range(4)]
    for vip in vips:
        address = ipaddress.ip_address(vip)
        assert address.version == 6 and address in net, vip
        assert vip not in (subnet["gateway_ip"], str(net.network_address))
        assert vip == str(address)  # the canonical, compressed form
    assert len(set(vips)) == len(vips)
    ports = api.member.get("/v2.0/ports").json()["ports"]
    assert {p["fixed_ips"][0]["ip_address"] for p in ports
            if p["device_owner"] == "lbaas:vip"} == set(vips)
    lb = api.member.get("/loadbalancers").json()["loadbalancers"][0]
    assert lb["vip_subnet_id"] == subnet["id"] and lb["vip_network_id"] == api.network_id


def test_chosen_ipv6_vip_on_a_dual_stack_network_picks_the_ipv6_subnet(api: Api) -> None:
    subnet = _v6_subnet(api)
    lb = api.create_lb(vip_subnet_id=None, vip_network_id=api.network_id,
                       vip_address="FD00:7A11:0:1:0::abc")
    assert lb["vip_address"] == "fd00:7a11:0:1::abc"
    assert lb["vip_subnet_id"] == subnet["id"]
    v4 = api.create_lb(vip_subnet_id=None, vip_network_id=api.network_id)
    assert ipaddress.ip_address(v4["vip_address"]).version == 4  # the oldest subnet
    last = api.create_lb(vip_subnet_id=subnet["id"],
                         vip_address="fd00:7a11:0:1:ffff:ffff:ffff:ffff")
    assert last["vip_address"] == "fd00:7a11:0:1:ffff:ffff:ffff:ffff"  # no broadcast in v6


@pytest.mark.parametrize("address,status", [
    pytest.param("fd00:7a11:0:1::1", 400, id="gateway"),
    pytest.param("fd00:7a11:0:1::", 400, id="subnet-router-anycast"),
    pytest.param("fd00:7a11:0:2::5", 400, id="outside"),
    pytest.param("10.20.0.50", 400, id="other-family"),
    pytest.param("fd00:7a11:0:1::5%eth0", 400, id="zone-id"),
    pytest.param("fd00:7a11:0:1::5%x]:1 backup #", 400, id="zone-id-injection"),
])
def test_bad_chosen_ipv6_vip(api: Api, address: str, status: int) -> None:
    subnet = _v6_subnet(api)
    r = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "vip_address": address}})
    assert r.status_code == status, r.text


def _ports_of(api: Api, lb_id: str) -> dict[str, str]:
    """device_owner -> address of the ports of load balancer ``lb_id``."""
    return {p["device_owner"]: p["fixed_ips"][0]["ip_address"]
            for p in api.admin.get("/v2.0/ports").json()["ports"] if p["device_id"] == lb_id}


@pytest.mark.parametrize("vip_family", [4, 6])
def test_dual_stack_network_gives_an_address_of_each_family(api: Api, vip_family: int) -> None:
    """On a network with an IPv4 and an IPv6 subnet a load balancer also takes an address of
    the family its VIP is not of (its source address towards members of that family); both
    ports go with the load balancer."""
    subnet = _v6_subnet(api)
    vip_subnet = subnet["id"] if vip_family == 6 else api.subnet_id
    lb = api.create_lb(vip_subnet_id=vip_subnet)
    ports = _ports_of(api, lb["id"])
    assert set(ports) == {"lbaas:vip", "lbaas:source"}
    assert ports["lbaas:vip"] == lb["vip_address"]
    assert ipaddress.ip_address(ports["lbaas:vip"]).version == vip_family
    source = ipaddress.ip_address(ports["lbaas:source"])
    assert source.version == (6 if vip_family == 4 else 4)
    assert source in ipaddress.ip_network(V6_CIDR if vip_family == 4 else "10.20.0.0/16")
    r = api.admin.delete(f"/v2.0/subnets/{subnet['id']}")
    assert r.status_code == 409, r.text  # an address of it is in use

    assert api.member.delete(f"/loadbalancers/{lb['id']}").status_code == 204
    wait_for(lambda: _ports_of(api, lb["id"]), lambda ports: ports == {}, 10)
    assert api.admin.delete(f"/v2.0/subnets/{subnet['id']}").status_code == 204


def test_single_stack_network_gives_no_source_address(api: Api) -> None:
    lb = api.create_lb()
    assert set(_ports_of(api, lb["id"])) == {"lbaas:vip"}


def test_taken_ipv6_vip_is_409(api: Api) -> None:
    subnet = _v6_subnet(api)
    api.create_lb(vip_subnet_id=subnet["id"], vip_address="fd00:7a11:0:1::77")
    r = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "vip_address": "fd00:7a11:0:1:0:0:0:77"}})
    assert r.status_code == 409, r.text


def test_ipv6_members_monitor_addresses_and_allowed_cidrs(api: Api) -> None:
    subnet = _v6_subnet(api)
    lb = api.create_lb(vip_subnet_id=subnet["id"])
    r = api.member.post("/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80,
        "allowed_cidrs": ["fd00:7a11::/48", "10.0.0.0/8"]}})
    assert r.status_code == 400 and "IP version" in r.text, r.text  # as Octavia: VIP's family
    listener_id, pool_id = _listener_and_pool(
        api, lb["id"], allowed_cidrs=["FD00:7A11::1/48", "fd00:7a12::/32"])
    listener = api.member.get(f"/listeners/{listener_id}").json()["listener"]
    assert listener["allowed_cidrs"] == ["fd00:7a11::/48", "fd00:7a12::/32"]
    r = api.member.post(f"/pools/{pool_id}/members", {"member": {
        "address": "FD00:7A11:0:1:0::0A", "protocol_port": 8080,
        "monitor_address": "fd00:7a11:0:1::b", "monitor_port": 9000}})
    assert r.status_code == 201, r.text
    member = r.json()["member"]
    assert member["address"] == "fd00:7a11:0:1::a"
    assert member["monitor_address"] == "fd00:7a11:0:1::b"
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    r = api.member.post(f"/pools/{pool_id}/members", {"member": {
        "address": "fd00:7a11:0:1:0:0:0:a", "protocol_port": 8080}})
    assert r.status_code == 409, r.text  # the same member, spelled differently
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    r = api.member.post(f"/pools/{pool_id}/members", {"member": {
        "address": "10.20.3.4", "protocol_port": 8080}})  # mixed families in one pool
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("member", [
    pytest.param({"address": "fe80::1%eth0"}, id="zone-id"),
    pytest.param({"address": "fd00::1%x]:1 backup #"}, id="zone-id-injection"),
    pytest.param({"address": "fd00::1", "monitor_address": "fd00::2%x check"},
                 id="monitor-zone-id"),
    pytest.param({"address": "[fd00::1]"}, id="brackets"),
    pytest.param({"address": "fd00::1/64"}, id="prefix"),
    pytest.param({"address": "fd00:::1"}, id="malformed"),
])
def test_hostile_ipv6_member_is_400(api: Api, member: dict[str, Any]) -> None:
    lb = api.create_lb()
    _, pool_id = _listener_and_pool(api, lb["id"])
    r = api.member.post(f"/pools/{pool_id}/members", {"member": {"protocol_port": 80, **member}})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("cidr", ["fd00::%x or ::/64", "fd00::%eth0/64", "fd00::/129"])
def test_hostile_ipv6_allowed_cidr_is_400(api: Api, cidr: str) -> None:
    lb = api.create_lb()
    r = api.member.post("/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80,
        "allowed_cidrs": [cidr]}})
    assert r.status_code == 400, r.text


def test_first_free_on_a_slash_64_does_not_enumerate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan that follows failed probes starts at an offset and stops at the first free
    address: on a /64 (2**64 addresses) it returns at once."""
    subnet = networks.SubnetInfo("s", "n", V6_CIDR, "fd00:7a11:0:1::1", [
        {"start": "fd00:7a11:0:1::1", "end": "fd00:7a11:0:1:ffff:ffff:ffff:ffff"}])
    monkeypatch.setattr(networks.random, "randrange", lambda size: 0)
    used = {"fd00:7a11:0:1::2", "fd00:7a11:0:1::3"}
    assert networks._first_free(subnet, used) == "fd00:7a11:0:1::4"  # gateway skipped too
    ranges = networks._pool_ranges(subnet)
    assert ipaddress.ip_address(networks._random_address(ranges)) in ipaddress.ip_network(V6_CIDR)
