"""The alert pipeline on the API server's own metrics, without network namespaces: a real
Prometheus scrapes a real API (uvicorn on loopback), evaluates etc/prometheus/lbaas-alerts.yml,
and a real Alertmanager notifies the test's webhook (tests/monitoring.py). The e2e counterpart,
with haproxy and an agent, is tests/e2e/test_alerts.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from lbaas.core.scrape_token import create_token_file
from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.services import agents
from tests.functional.harness import Api, build_api, close_api
from tests.monitoring import Monitoring, monitoring, served_app
from tests.promql import (
    API_METRICS,
    Expression,
    check_all,
    dashboard_expressions,
    metric_names,
    rule_expressions,
)

WAIT = 30  # a bound for a notification that comes after 1-2 scrape and evaluation intervals


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Monitoring]]:
    state = tmp_path_factory.mktemp("alerts")
    token_file = create_token_file(state / "metrics.token")  # Prometheus scrapes with it
    api = build_api(str(state), overrides={"housekeeping": {"agent_down_time": 2},
                                           "metrics": {"token_file": str(token_file)}})
    try:
        with served_app(api.client.app) as address, \
                monitoring({"lbaas-api": [address]}, token_file=token_file) as mon:
            mon.wait_scraped("lbaas-api")
            yield api, mon
    finally:
        close_api(api)


def _set_status(api: Api, lb_id: str, status: str) -> None:
    with write_session(api.services.sessions) as s:
        s.execute(update(models.LoadBalancer).where(models.LoadBalancer.id == lb_id)
                  .values(provisioning_status=status))


def test_a_load_balancer_in_error_is_notified_then_resolved(
        watched: tuple[Api, Monitoring]) -> None:
    api, mon = watched
    lb = api.create_lb()
    since = time.monotonic()
    _set_status(api, lb["id"], "ERROR")  # as the status service records a failed change
    fired = mon.receiver.wait("LbaasLoadBalancerError", "firing", WAIT, since,
                              loadbalancer_id=lb["id"])
    assert fired.labels["severity"] == "critical"
    assert fired.labels["project_id"] == "project-a"
    assert lb["id"] in fired.annotations["summary"]
    print(f"ERROR -> notification: {fired.received - since:.1f}s")
    _set_status(api, lb["id"], "ACTIVE")
    mon.receiver.wait("LbaasLoadBalancerError", "resolved", WAIT, since,
                      loadbalancer_id=lb["id"])
    # an ACTIVE load balancer never fired
    other = api.create_lb()
    assert mon.query(f'ALERTS{{loadbalancer_id="{other["id"]}"}}') == []


def test_a_silent_agent_is_notified_then_resolved(watched: tuple[Api, Monitoring]) -> None:
    api, mon = watched
    with write_session(api.services.sessions) as s:
        agents.report_state(s, {"host": "node-quiet"})
    since = time.monotonic()
    # no heartbeat from now on: after agent_down_time (2 s) lbaas_agent_up is 0
    fired = mon.receiver.wait("LbaasAgentDown", "firing", WAIT, since, host="node-quiet")
    print(f"last heartbeat -> notification: {fired.received - since:.1f}s")
    with write_session(api.services.sessions) as s:
        agents.report_state(s, {"host": "node-quiet"})
    mon.receiver.wait("LbaasAgentDown", "resolved", WAIT, fired.received,
                      host="node-quiet")


def test_every_dashboard_and_rule_expression_runs(watched: tuple[Api, Monitoring]) -> None:
    """No PromQL error in any expression; data for every one that reads only the API server's
    series (an ERROR, a PENDING_UPDATE load balancer and an agent give every alert its input)."""
    api, mon = watched
    broken, pending = api.create_lb(), api.create_lb()
    _set_status(api, broken["id"], "ERROR")
    _set_status(api, pending["id"], "PENDING_UPDATE")
    with write_session(api.services.sessions) as s:
        agents.report_state(s, {"host": "node-seen"})
    selector = f'lbaas_loadbalancer_pending_seconds{{loadbalancer_id="{pending["id"]}"}}'
    # as check_all looks (a subquery's steps are whole seconds, a scrape may be just after)
    mon.eventually(lambda: bool(mon.query(f"last_over_time(({selector})[60s:1s])")), WAIT,
                   "the pending load balancer scraped")

    def api_only(e: Expression) -> bool:
        return metric_names(e.data_expr) <= API_METRICS and "lbaas-agent" not in e.expr

    expressions = dashboard_expressions() + rule_expressions()
    assert sum(map(api_only, expressions)) >= 15
    assert check_all(mon.query, expressions, api_only) == []
