"""The provisioning state machine: immutability while PENDING_*, and exactly one winner among
concurrent changes, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.databases import DATABASES
from tests.functional.harness import Api, api_with_completion_delay, wait_for


@pytest.fixture(params=DATABASES)
def slow_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Api]:
    """The noop provider takes 6 s to finish, so objects stay PENDING_* long enough to race
    (with 2 s, twenty concurrent PUTs on a busy MariaDB outlasted the first one's change and a
    second PUT rightly won too)."""
    yield from api_with_completion_delay(request, tmp_path_factory, 6.0)


def test_twenty_concurrent_updates_give_one_200(slow_api: Api) -> None:
    lb = slow_api.create_lb(wait=False)
    lb = slow_api.wait_active(slow_api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")

    def rename(i: int) -> int:
        r = slow_api.member.put(f"/loadbalancers/{lb['id']}",
                                {"loadbalancer": {"name": f"n{i}"}})
        return int(r.status_code)

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = Counter(pool.map(rename, range(20)))
    assert codes == Counter({200: 1, 409: 19})


def test_child_change_while_pending_is_409_naming_the_lb(slow_api: Api) -> None:
    lb = slow_api.create_lb(wait=False)
    r = slow_api.member.post("/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80}})
    assert r.status_code == 409
    message = r.json()["faultstring"]
    assert lb["id"] in message and "PENDING_CREATE" in message


def test_delete_while_pending_is_409(slow_api: Api) -> None:
    lb = slow_api.create_lb(wait=False)
    r = slow_api.member.delete(f"/loadbalancers/{lb['id']}")
    assert r.status_code == 409


def test_concurrent_creates_get_distinct_vips(slow_api: Api) -> None:
    def create(_: int) -> str:
        r = slow_api.member.post("/loadbalancers",
                                 {"loadbalancer": {"vip_subnet_id": slow_api.subnet_id}})
        assert r.status_code == 201, r.text
        return str(r.json()["loadbalancer"]["vip_address"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        vips = list(pool.map(create, range(16)))
    assert len(set(vips)) == 16


def test_concurrent_creates_asking_one_vip_give_one_201(slow_api: Api) -> None:
    """The (subnet, address) key settles the race: one create gets the address, the others a
    409 that names it (on PostgreSQL the losers used to hit the unique key: a 500)."""
    def create(_: int) -> tuple[int, str]:
        r = slow_api.member.post("/loadbalancers", {"loadbalancer": {
            "vip_subnet_id": slow_api.subnet_id, "vip_address": "10.20.9.9"}})
        return int(r.status_code), str(r.json().get("faultstring", ""))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))
    assert Counter(code for code, _ in results) == Counter({201: 1, 409: 7})
    assert all("10.20.9.9 is already allocated" in message
               for code, message in results if code == 409)
    ports = slow_api.member.get("/v2.0/ports").json()["ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in ports] == ["10.20.9.9"]


def test_error_lb_can_be_deleted_but_not_changed(api: Api) -> None:
    lb = api.create_lb()
    api.services.status.finish_changes(lb["id"], ok=False, reason="test")  # no pending: no-op
    from lbaas.db import models
    from lbaas.db.engine import write_session
    with write_session(api.services.sessions) as s:
        s.get(models.LoadBalancer, lb["id"]).provisioning_status = "ERROR"  # type: ignore[union-attr]
    r = api.member.put(f"/loadbalancers/{lb['id']}", {"loadbalancer": {"name": "x"}})
    assert r.status_code == 409
    assert "ERROR" in r.json()["faultstring"]
    assert api.member.delete(f"/loadbalancers/{lb['id']}").status_code == 204
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb['id']}").status_code,
             lambda c: c == 404)
