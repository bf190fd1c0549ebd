"""tests/promql.py: the expressions of the dashboard and the rules, thresholds and names."""

from __future__ import annotations

from tests.promql import (
    AGENT_METRICS,
    API_METRICS,
    dashboard_expressions,
    metric_names,
    rule_expressions,
    without_thresholds,
)


def test_thresholds_become_pass_all_filters() -> None:
    assert without_thresholds("(a:ratio > 0.5) < 1") == "(a:ratio > -Inf) > -Inf"
    assert without_thresholds('up{job="x"} == 0') == 'up{job="x"} > -Inf'
    assert without_thresholds("x / y >= 0.9 and z > 1e3") == "x / y > -Inf and z > -Inf"
    # comparisons between series and label values are not thresholds
    assert without_thresholds("a >= b") == "a >= b"
    assert without_thresholds('x{code="5xx"}') == 'x{code="5xx"}'


def test_metric_names_skip_functions_labels_keywords_and_windows() -> None:
    expr = ('sum by (pool_id, code) (rate(haproxy_backend_http_responses_total{code="5xx",'
            'pool_id=~".*"}[2m])) / on (pool_id) group_left lbaas:pool_members > bool 0.5 '
            "and time() - lbaas_agent_last_sync_timestamp_seconds offset 1m")
    assert metric_names(expr) == {"haproxy_backend_http_responses_total",
                                  "lbaas:pool_members", "lbaas_agent_last_sync_timestamp_seconds"}


def test_every_dashboard_panel_and_rule_yields_expressions() -> None:
    dashboard = dashboard_expressions()
    assert len(dashboard) >= 30
    assert all("$" not in e.expr for e in dashboard), "a Grafana variable left unreplaced"
    rules = rule_expressions()
    assert {e.origin for e in rules} >= {"alert: LbaasPoolDown", "record: lbaas:member_down"}
    pool_down = next(e for e in rules if e.origin == "alert: LbaasPoolDown")
    assert pool_down.data_expr == "lbaas:pool_members_down:ratio > -Inf"


def test_every_name_read_is_served_by_someone() -> None:
    """A misspelt name would only show as an empty panel: every name is the API server's, the
    agent's, HAProxy's exporter's or a recording rule of ours."""
    rules = rule_expressions()
    records = {e.origin.removeprefix("record: ") for e in rules if e.origin.startswith("record")}
    for e in dashboard_expressions() + rules:
        unknown = {n for n in metric_names(e.expr) - API_METRICS - AGENT_METRICS - records
                   if not n.startswith("haproxy_")}
        assert not unknown, f"{e.origin}: {unknown}"
