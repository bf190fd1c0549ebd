"""Prometheus metrics of the API: requests by route and code, latency, objects by status, and
the fleet's load balancer statuses and agent heartbeats (:mod:`lbaas.observability.fleet_metrics`).

A private registry per application keeps several apps (tests, the all-in-one) independent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.db import models
from lbaas.observability.fleet_metrics import AgentLivenessCollector, LoadBalancerStateCollector

STATUS_MODELS: dict[str, Any] = {"loadbalancer": models.LoadBalancer, "listener": models.Listener,
                 "pool": models.Pool, "member": models.Member,
                 "healthmonitor": models.HealthMonitor, "l7policy": models.L7Policy,
                 "l7rule": models.L7Rule}


class ApiMetrics:
    """The metrics one API application exports."""

    def __init__(self, sessions: sessionmaker[Session], agent_down_time: int = 6) -> None:
        """``agent_down_time``: ``[housekeeping] agent_down_time``, for ``lbaas_agent_up``."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("lbaas_api_requests_total", "API requests handled",
                                ["method", "route", "code"], registry=self.registry)
        self.latency = Histogram(
            "lbaas_api_request_duration_seconds", "API request latency",
            ["method", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.registry.register(_ObjectStatusCollector(sessions))
        self.registry.register(LoadBalancerStateCollector(sessions))
        self.registry.register(AgentLivenessCollector(sessions, agent_down_time))

    def observe(self, method: str, route: str, code: int, seconds: float) -> None:
        self.requests.labels(method, route, str(code)).inc()
        self.latency.labels(method, route).observe(seconds)


class _ObjectStatusCollector(Collector):
    """Counts objects by provisioning and operating status at scrape time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("lbaas_objects", "Objects by type and status",
                                  labels=["type", "provisioning_status", "operating_status"])
        with self._sessions() as session:
            for name, model in STATUS_MODELS.items():
                rows = session.execute(
                    select(model.provisioning_status, model.operating_status, func.count())
                    .group_by(model.provisioning_status, model.operating_status))
                for prov, oper, count in rows:
                    gauge.add_metric([name, prov, oper], count)
        yield gauge
