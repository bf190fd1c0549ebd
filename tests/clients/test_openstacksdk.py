"""openstacksdk's load_balancer proxy against a live server.

Connections use ``auth_type=admin_token`` (all calls to ``<endpoint>/v2.0/lbaas/...``), built either
directly from arguments or, for the isolation test, through ``openstack.connect(cloud=...)`` and a
``clouds.yaml`` written to a temporary directory. The environment is cleaned first, so no ``OS_*``
variable or user ``clouds.yaml`` takes part.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import openstack
import pytest
import yaml
from openstack import exceptions
from openstack.connection import Connection

from tests.clients.conftest import LiveApi

INTERVAL = 0.05  # seconds between the SDK's status polls
WAIT = 20  # seconds before a wait gives up
T = TypeVar("T")
STATS_KEYS = ("active_connections", "bytes_in", "bytes_out", "request_errors",
              "total_connections")


def connect(live: LiveApi, token: str) -> Connection:
    """A connection that reads neither clouds.yaml nor the environment."""
    return Connection(auth_type="admin_token", auth={"endpoint": live.url, "token": token})


@pytest.fixture
def conn(live: LiveApi, isolated_environ: Path) -> Connection:
    """Project-a's member."""
    return connect(live, live.api.member.token)


def _settle(conn: Connection, lb_id: str) -> Any:
    # The SDK annotates interval as int; it only sleeps it, and whole seconds would slow every
    # step of these tests to a second or more.
    return conn.load_balancer.wait_for_load_balancer(
        lb_id, interval=INTERVAL, wait=WAIT)  # type: ignore[arg-type]


def _found(resource: T | None) -> T:
    """A find_* result that must exist."""
    assert resource is not None
    return resource


def _batch_update(conn: Connection, pool_id: str, members: list[dict[str, Any]],
                  additive_only: bool) -> None:
    """PUT the member list (the SDK has no batch call): additive or replacing."""
    query = "?additive_only=true" if additive_only else ""
    response = conn.load_balancer.put(f"/lbaas/pools/{pool_id}/members{query}",
                                      json={"members": members})
    assert response.status_code == 202, response.text


def test_full_lifecycle(conn: Connection, live: LiveApi) -> None:
    """Create a tree, find by name, update, batch-update members, read stats, cascade-delete."""
    lb_api = conn.load_balancer
    lb = lb_api.create_load_balancer(name="sdk-lb", vip_subnet_id=live.api.subnet_id,
                                     description="made by openstacksdk")
    assert lb.provisioning_status in ("PENDING_CREATE", "ACTIVE")
    assert lb.vip_address and lb.vip_port_id
    lb = _settle(conn, lb.id)
    assert (lb.provisioning_status, lb.operating_status) == ("ACTIVE", "ONLINE")

    # find_*: GET /loadbalancers/sdk-lb must answer 404 for the SDK to fall back to ?name=
    assert _found(lb_api.find_load_balancer("sdk-lb")).id == lb.id
    assert _found(lb_api.find_load_balancer(lb.id)).id == lb.id
    assert lb_api.find_load_balancer("no-such-lb") is None
    with pytest.raises(exceptions.NotFoundException):
        lb_api.find_load_balancer("no-such-lb", ignore_missing=False)

    listener = lb_api.create_listener(name="sdk-l", protocol="HTTP", protocol_port=80,
                                      load_balancer_id=lb.id)
    _settle(conn, lb.id)
    pool = lb_api.create_pool(name="sdk-p", protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                              listener_id=listener.id)
    _settle(conn, lb.id)
    member = lb_api.create_member(pool, address="10.20.0.10", protocol_port=8080)
    _settle(conn, lb.id)
    hm = lb_api.create_health_monitor(pool_id=pool.id, type="HTTP", delay=5, timeout=3,
                                      max_retries=3, url_path="/health")
    _settle(conn, lb.id)

    assert _found(lb_api.find_listener("sdk-l")).id == listener.id
    assert _found(lb_api.find_pool("sdk-p")).id == pool.id
    assert lb_api.get_pool(pool.id).health_monitor_id == hm.id
    assert lb_api.get_health_monitor(hm.id).url_path == "/health"
    assert [x.id for x in lb_api.load_balancers(name="sdk-lb")] == [lb.id]

    # Each change locks the load balancer (PENDING_UPDATE) until the provider is done, as in
    # Octavia: wait in between.
    lb_api.update_load_balancer(lb, name="sdk-lb-renamed")
    _settle(conn, lb.id)
    lb_api.update_listener(listener, connection_limit=100)
    _settle(conn, lb.id)
    lb_api.update_member(member, pool, weight=7)
    _settle(conn, lb.id)
    assert lb_api.get_load_balancer(lb.id).name == "sdk-lb-renamed"
    assert lb_api.get_listener(listener.id).connection_limit == 100
    assert lb_api.get_member(member, pool).weight == 7

    # Batch member update: additive, then a full replacement.
    _batch_update(conn, pool.id, [{"address": "10.20.0.11", "protocol_port": 8080}],
                  additive_only=True)
    _settle(conn, lb.id)
    assert sorted((m.address, m.weight) for m in lb_api.members(pool)) == [
        ("10.20.0.10", 7), ("10.20.0.11", 1)]
    _batch_update(conn, pool.id, [{"address": "10.20.0.11", "protocol_port": 8080, "weight": 4},
                                  {"address": "10.20.0.12", "protocol_port": 8080}],
                  additive_only=False)
    _settle(conn, lb.id)
    after = {m.address: m for m in lb_api.members(pool)}
    assert sorted((a, m.weight) for a, m in after.items()) == [("10.20.0.11", 4),
                                                              ("10.20.0.12", 1)]
    assert {m.provisioning_status for m in after.values()} == {"ACTIVE"}

    for stats in (lb_api.get_load_balancer_statistics(lb.id),
                  lb_api.get_listener_statistics(listener.id)):
        values = [getattr(stats, key) for key in STATS_KEYS]
        assert all(isinstance(v, int) and v >= 0 for v in values), stats

    lb_api.delete_load_balancer(lb, cascade=True)
    lb_api.wait_for_delete(lb, interval=INTERVAL, wait=WAIT)
    assert lb_api.find_load_balancer("sdk-lb-renamed") is None
    assert lb_api.find_listener(listener.id) is None
    assert list(lb_api.load_balancers(name="sdk-lb-renamed")) == []


@pytest.fixture
def clouds_yaml(live: LiveApi, isolated_environ: Path, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Connection]:
    """``openstack.connect(cloud=...)`` through a clouds.yaml naming one cloud per project."""
    clouds = {name: {"auth_type": "admin_token",
                     "auth": {"endpoint": live.url, "token": caller.token}}
              for name, caller in (("project-a", live.api.member),
                                   ("project-b", live.api.other))}
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    return lambda cloud: openstack.connect(cloud=cloud)


def test_other_project_cannot_see_or_touch(clouds_yaml: Callable[[str], Connection],
                                           live: LiveApi) -> None:
    """Project-b's connection finds nothing of project-a's and cannot change it: as with the
    real Octavia, a direct request for project-a's object is refused (403), and ``find`` (which
    falls back to listing on 403) finds nothing."""
    owner, stranger = clouds_yaml("project-a"), clouds_yaml("project-b")
    lb = owner.load_balancer.create_load_balancer(name="private-lb",
                                                  vip_subnet_id=live.api.subnet_id)
    _settle(owner, lb.id)

    assert _found(owner.load_balancer.find_load_balancer("private-lb")).id == lb.id
    assert stranger.load_balancer.find_load_balancer("private-lb") is None
    assert stranger.load_balancer.find_load_balancer(lb.id) is None
    assert lb.id not in {x.id for x in stranger.load_balancer.load_balancers()}
    with pytest.raises(exceptions.ForbiddenException):
        stranger.load_balancer.get_load_balancer(lb.id)
    with pytest.raises(exceptions.ForbiddenException):
        stranger.load_balancer.get_load_balancer_statistics(lb.id)
    with pytest.raises(exceptions.ForbiddenException):
        stranger.load_balancer.update_load_balancer(lb.id, name="stolen")
    with pytest.raises(exceptions.ForbiddenException):
        stranger.load_balancer.delete_load_balancer(lb.id, ignore_missing=False)

    still = owner.load_balancer.get_load_balancer(lb.id)
    assert (still.name, still.provisioning_status) == ("private-lb", "ACTIVE")
    owner.load_balancer.delete_load_balancer(lb.id)
    owner.load_balancer.wait_for_delete(still, interval=INTERVAL, wait=WAIT)
