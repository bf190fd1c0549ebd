"""The agent's own health, as Prometheus metrics: reloads, deploy failures, syncs, RPC errors.

One :class:`AgentMetrics` per agent, made by :class:`lbaas.agent.service.AgentService` and
handed to the manager (which counts deploys and syncs) and to
:class:`lbaas.agent.metrics.metered_plugin.MeteredPlugin` (which counts failed calls to the server);
:mod:`lbaas.agent.metrics.collector` serves its registry with the load balancers' series. The
series carry no host label: Prometheus adds ``instance``.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from lbaas.drivers.haproxy.process import Action

RELOAD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: a reload takes a few hundred milliseconds, a first start with a VIP to plug more."""


class AgentMetrics:
    """The agent's counters and gauges in a registry of their own (not the process-global one:
    the all-in-one also runs the API server's metrics)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reloads = Counter(
            "lbaas_agent_reloads", "haproxy processes started or reloaded with a new config.",
            registry=self.registry)
        self.runtime_updates = Counter(
            "lbaas_agent_runtime_updates",
            "Member changes the running haproxy took through its runtime API, without a reload.",
            registry=self.registry)
        self.reload_duration = Histogram(
            "lbaas_agent_reload_duration_seconds",
            "Seconds a deploy took that started or reloaded haproxy (VIP plug, check, reload).",
            buckets=RELOAD_BUCKETS, registry=self.registry)
        self.deploy_failures = Counter(
            "lbaas_agent_deploy_failures",
            "Deploys of a load balancer that failed (refused config, haproxy error, kernel...).",
            registry=self.registry)
        self.last_sync_duration = Gauge(
            "lbaas_agent_last_sync_duration_seconds",
            "Seconds the last complete full sync took (compare, prefetch, queue).",
            registry=self.registry)
        self.last_sync_timestamp = Gauge(
            "lbaas_agent_last_sync_timestamp_seconds",
            "Unix time the last complete full sync ended (0: none yet).",
            registry=self.registry)
        self.rpc_errors = Counter(
            "lbaas_agent_rpc_errors", "Calls and casts to the server that failed, by method.",
            ["method"], registry=self.registry)

    def deployed(self, action: object, seconds: float) -> None:
        """A deploy succeeded; ``action`` is what the driver did (:class:`Action`)."""
        if action in (Action.STARTED, Action.RELOADED):
            self.reloads.inc()
            self.reload_duration.observe(seconds)
        elif action == Action.UPDATED:
            self.runtime_updates.inc()

    def deploy_failed(self) -> None:
        self.deploy_failures.inc()

    def synced(self, seconds: float) -> None:
        """A full sync compared the server's wishes with this host and queued the work."""
        self.last_sync_duration.set(seconds)
        self.last_sync_timestamp.set(time.time())

    def rpc_failed(self, method: str) -> None:
        self.rpc_errors.labels(method=method).inc()
