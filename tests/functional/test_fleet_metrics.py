"""The API server's /metrics about the fleet: load balancer statuses, time spent PENDING_*, agent
heartbeats (lbaas/observability/fleet_metrics.py), read with an admin's token (who else may:
tests/functional/test_metrics_auth.py)."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, update

from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.services import agents
from tests.functional.harness import Api


def _samples(api: Api, name: str) -> list[tuple[dict[str, str], float]]:
    r = api.client.get("/metrics", headers={"X-Auth-Token": api.admin.token})
    assert r.status_code == 200
    return [(dict(s.labels), s.value) for family in text_string_to_metric_families(r.text)
            for s in family.samples if s.name == name]


def _age(api: Api, model: type[models.LoadBalancer | models.Agent], column: str, key: str,
         seconds: float) -> None:
    """Move a timestamp ``seconds`` into the past, as if that much time had gone by."""
    past = models.utcnow() - dt.timedelta(seconds=seconds)
    with write_session(api.services.sessions) as s:
        s.execute(update(model).where(model.id == key).values({column: past}))


def test_every_load_balancer_has_its_statuses(sqlite_api: Api) -> None:
    lb = sqlite_api.create_lb()
    status = _samples(sqlite_api, "lbaas_loadbalancer_status")
    assert status == [({"loadbalancer_id": lb["id"], "project_id": "project-a",
                        "provisioning_status": "ACTIVE", "operating_status": "ONLINE"}, 1.0)]
    assert _samples(sqlite_api, "lbaas_loadbalancer_pending_seconds") == []


def test_pending_seconds_count_from_the_status_change(api: Api) -> None:
    # on every database: the age is computed from a stored timestamp
    lb = api.create_lb()
    with write_session(api.services.sessions) as s:
        s.execute(update(models.LoadBalancer).where(models.LoadBalancer.id == lb["id"])
                  .values(provisioning_status="PENDING_UPDATE"))
    _age(api, models.LoadBalancer, "status_changed_at", lb["id"], 300)
    [(labels, seconds)] = _samples(api, "lbaas_loadbalancer_pending_seconds")
    assert labels == {"loadbalancer_id": lb["id"], "project_id": "project-a",
                      "provisioning_status": "PENDING_UPDATE"}
    assert 300 <= seconds < 3600
    [(status, _)] = _samples(api, "lbaas_loadbalancer_status")
    assert status["provisioning_status"] == "PENDING_UPDATE"


def test_agent_up_follows_heartbeats_and_agent_down_time(api: Api) -> None:
    down_time = api.services.conf.housekeeping.agent_down_time
    with write_session(api.services.sessions) as s:
        agent_id = agents.report_state(s, {"host": "node-1"}).id
    assert _samples(api, "lbaas_agent_up") == [({"host": "node-1"}, 1.0)]
    [(_, age)] = _samples(api, "lbaas_agent_heartbeat_age_seconds")
    assert 0 <= age < down_time
    _age(api, models.Agent, "heartbeat_timestamp", agent_id, down_time + 1)
    assert _samples(api, "lbaas_agent_up") == [({"host": "node-1"}, 0.0)]
    [(_, age)] = _samples(api, "lbaas_agent_heartbeat_age_seconds")
    assert age >= down_time + 1
    # the agents API agrees
    [shown] = api.admin.get("/v2.0/agents").json()["agents"]
    assert shown["alive"] is False


def test_a_scrape_costs_the_same_queries_for_2_or_12_load_balancers(sqlite_api: Api) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def scrape_queries() -> int:
        statements.clear()
        event.listen(sqlite_api.services.engine, "before_cursor_execute", count)
        try:
            assert sqlite_api.client.get("/metrics", headers={
                "X-Auth-Token": sqlite_api.admin.token}).status_code == 200
        finally:
            event.remove(sqlite_api.services.engine, "before_cursor_execute", count)
        # The admin's token is verified by a query unless cached moments ago: not the metrics'.
        return len([s for s in statements if "tokens" not in s])

    for _ in range(2):
        sqlite_api.create_lb()
    few = scrape_queries()
    for _ in range(10):
        sqlite_api.create_lb()
    assert scrape_queries() == few
    assert len(_samples(sqlite_api, "lbaas_loadbalancer_status")) == 12
