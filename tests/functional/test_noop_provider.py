"""The noop provider's batched completion, on SQLite and on PostgreSQL: load balancers with and
without children closed together, and nothing left pending when the server stops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lbaas.db import models
from lbaas.db.engine import read_session
from tests.databases import DATABASES
from tests.functional.harness import Api, api_with_completion_delay


@pytest.fixture(params=DATABASES)
def parked_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Api]:
    """The noop provider waits a minute: changes stay pending until a test closes them."""
    yield from api_with_completion_delay(request, tmp_path_factory, 60.0)


def _statuses(api: Api, model: type[models.Base], object_id: str) -> tuple[str, str]:
    with read_session(api.services.sessions) as session:
        obj = session.get(model, object_id)
        assert obj is not None
        return obj.provisioning_status, obj.operating_status  # type: ignore[attr-defined]


def test_finish_many_closes_bare_and_full_load_balancers(parked_api: Api) -> None:
    api = parked_api
    up = api.create_lb(wait=False, name="up")
    down = api.create_lb(wait=False, name="down", admin_state_up=False)
    full = api.create_lb(wait=False, name="full",
                         listeners=[{"protocol": "TCP", "protocol_port": 80}])
    listener_id = full["listeners"][0]["id"]
    assert _statuses(api, models.LoadBalancer, up["id"]) == ("PENDING_CREATE", "OFFLINE")

    api.services.status.finish_many([up["id"], down["id"], full["id"], models.new_id()])

    assert _statuses(api, models.LoadBalancer, up["id"]) == ("ACTIVE", "ONLINE")
    assert _statuses(api, models.LoadBalancer, down["id"]) == ("ACTIVE", "OFFLINE")
    assert _statuses(api, models.LoadBalancer, full["id"])[0] == "ACTIVE"
    assert _statuses(api, models.Listener, listener_id)[0] == "ACTIVE"
    shown = api.member.get(f"/loadbalancers/{up['id']}").json()["loadbalancer"]
    assert shown["updated_at"] is not None


def test_finish_many_deletes_a_load_balancer_being_deleted(parked_api: Api) -> None:
    api = parked_api
    lb = api.create_lb(wait=False)
    api.services.status.finish_many([lb["id"]])
    assert api.member.delete(f"/loadbalancers/{lb['id']}").status_code == 204
    api.services.status.finish_many([lb["id"]])
    assert api.member.get(f"/loadbalancers/{lb['id']}").status_code == 404
    assert api.member.get("/v2.0/ports").json()["ports"] == []


def test_stopping_completes_what_is_queued(parked_api: Api) -> None:
    api = parked_api
    lb = api.create_lb(wait=False)
    api.services.providers.shutdown()  # does not wait out the 60 s delay
    assert _statuses(api, models.LoadBalancer, lb["id"]) == ("ACTIVE", "ONLINE")
