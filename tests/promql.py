"""Every PromQL expression lbaas ships, for tests that run them against a real Prometheus: the
Grafana dashboard's (etc/grafana/lbaas-dashboard.json: panel targets and the variables' metric
selectors) and the rules' (etc/prometheus/lbaas-alerts.yml: recording rules, and alerts with
their numeric thresholds neutralised, so that "has data" means the alert's input exists).

Used by tests/functional/test_alert_pipeline.py and tests/e2e/test_alerts.py. Not a test module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "etc" / "grafana" / "lbaas-dashboard.json"
RULES = ROOT / "etc" / "prometheus" / "lbaas-alerts.yml"

API_METRICS = frozenset({
    "lbaas_api_requests_total", "lbaas_api_request_duration_seconds_bucket", "lbaas_objects",
    "lbaas_loadbalancer_status", "lbaas_loadbalancer_pending_seconds", "lbaas_agent_up",
    "lbaas_agent_heartbeat_age_seconds", "up"})
"""What the API server's /metrics serves (and Prometheus's own ``up``)."""
AGENT_METRICS = frozenset({
    "lbaas_loadbalancer_info", "lbaas_haproxy_up", "lbaas_agent_loadbalancers",
    "lbaas_agent_reloads_total", "lbaas_agent_reload_duration_seconds_bucket",
    "lbaas_agent_deploy_failures_total", "lbaas_agent_last_sync_duration_seconds",
    "lbaas_agent_last_sync_timestamp_seconds", "lbaas_agent_rpc_errors_total",
    "lbaas_agent_scrape_duration_seconds"})
"""The agent's own series (its metrics endpoint's contract); ``haproxy_*`` come from HAProxy's
exporter, whose names the e2e test checks against a real haproxy."""

# Grafana's variables, as a test evaluates them: every project and load balancer.
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$project": ".*", "$loadbalancer": ".*"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}
_COMPARISON = re.compile(r"(==|!=|>=|<=|>|<)\s*(bool\s+)?-?\d+(\.\d+)?(e-?\d+)?(?![\w.:])")
_LABEL_VALUES = re.compile(r"^label_values\((.+),\s*\w+\)$")


@dataclass(frozen=True)
class Expression:
    origin: str  # "dashboard: <panel title>" or "rule: <name>"
    expr: str  # runnable PromQL
    data_expr: str  # what must have data: expr, thresholds of an alert replaced by > -Inf


def grafana_substituted(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def without_thresholds(expr: str) -> str:
    """``expr`` with every comparison against a number made to pass every sample."""
    return _COMPARISON.sub("> -Inf", expr)


def metric_names(expr: str) -> set[str]:
    """The metric (and recording rule) names ``expr`` reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {n for n in names if n.lower() not in KEYWORDS}


def dashboard_expressions(path: Path = DASHBOARD) -> list[Expression]:
    dashboard = json.loads(path.read_text())
    found: list[Expression] = []

    def panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p for item in items for p in [item, *panels(item.get("panels", []))]]

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            expr = grafana_substituted(target["expr"])
            found.append(Expression(f"dashboard: {panel['title']}", expr, expr))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = _LABEL_VALUES.match(variable["query"]["query"])
            assert match, f"variable {variable['name']}: not label_values(<selector>, <label>)"
            expr = grafana_substituted(match.group(1))
            found.append(Expression(f"dashboard variable: {variable['name']}", expr, expr))
    return found


def rule_expressions(path: Path = RULES) -> list[Expression]:
    found: list[Expression] = []
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            expr = " ".join(str(rule["expr"]).split())
            if "alert" in rule:
                found.append(Expression(f"alert: {rule['alert']}", expr, without_thresholds(expr)))
            else:
                found.append(Expression(f"record: {rule['record']}", expr, expr))
    return found


def check_all(query: Callable[[str], list[Any]], expressions: list[Expression],
              must_have_data: Callable[[Expression], bool], window: int = 300
              ) -> list[str]:
    """Run every expression; the problems found: a PromQL error, or no data within the last
    ``window`` seconds for an expression ``must_have_data`` selects."""
    problems = []
    for e in expressions:
        try:
            query(e.expr)
        except AssertionError as exc:
            problems.append(f"{e.origin}: error {exc}")
            continue
        if must_have_data(e) and not query(f"last_over_time(({e.data_expr})[{window}s:1s])"):
            problems.append(f"{e.origin}: no data for {e.data_expr}")
    return problems
