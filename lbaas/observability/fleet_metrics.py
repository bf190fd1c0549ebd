"""Prometheus metrics of the fleet as the database sees it, read at scrape time: every load
balancer's statuses, how long a PENDING_* one has waited, and every agent's heartbeat.

Registered by :class:`lbaas.observability.metrics.ApiMetrics`, so the API server's ``/metrics``
serves them; the alert rules in ``etc/prometheus/lbaas-alerts.yml`` read them. One query per
scrape for the load balancers (both families) and one for the agents, whatever their number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.status import Provisioning
from lbaas.db import models

PENDING = frozenset({Provisioning.PENDING_CREATE, Provisioning.PENDING_UPDATE,
                     Provisioning.PENDING_DELETE})


class LoadBalancerStateCollector(Collector):
    """``lbaas_loadbalancer_status`` (1 per load balancer, its statuses as labels: a status
    change replaces the series, so ``== 1`` selects by status and ``count by`` tallies) and
    ``lbaas_loadbalancer_pending_seconds`` (only load balancers in PENDING_*)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = GaugeMetricFamily(
            "lbaas_loadbalancer_status",
            "1 for every load balancer, labelled with its provisioning and operating status",
            labels=["loadbalancer_id", "project_id", "provisioning_status", "operating_status"])
        pending = GaugeMetricFamily(
            "lbaas_loadbalancer_pending_seconds",
            "Seconds a load balancer has been in its PENDING_* provisioning status",
            labels=["loadbalancer_id", "project_id", "provisioning_status"])
        lb = models.LoadBalancer
        now = models.utcnow()
        with self._sessions() as session:
            rows = session.execute(select(lb.id, lb.project_id, lb.provisioning_status,
                                          lb.operating_status, lb.status_changed_at))
            for lb_id, project, prov, oper, changed in rows:
                status.add_metric([lb_id, project, prov, oper], 1)
                if prov in PENDING:
                    pending.add_metric([lb_id, project, prov], _seconds(now - changed))
        yield status
        yield pending


class AgentLivenessCollector(Collector):
    """``lbaas_agent_up`` (heard within ``agent_down_time``, as the agents API's ``alive``)
    and ``lbaas_agent_heartbeat_age_seconds`` per agent host."""

    def __init__(self, sessions: sessionmaker[Session], down_time: int) -> None:
        self._sessions = sessions
        self._down_time = down_time

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "lbaas_agent_up",
            "1 if the agent sent a heartbeat within [housekeeping] agent_down_time, else 0",
            labels=["host"])
        age = GaugeMetricFamily("lbaas_agent_heartbeat_age_seconds",
                                "Seconds since the agent's last heartbeat", labels=["host"])
        now = models.utcnow()
        with self._sessions() as session:
            rows = session.execute(select(models.Agent.host, models.Agent.heartbeat_timestamp))
            for host, beat in rows:
                seconds = _seconds(now - beat)
                up.add_metric([host], 1 if seconds <= self._down_time else 0)
                age.add_metric([host], seconds)
        yield up
        yield age


def _seconds(delta: dt.timedelta) -> float:
    return max(0.0, delta.total_seconds())
