"""The agent's calls to the server, counting the ones that fail.

:class:`lbaas.agent.service.AgentService` wraps its :class:`lbaas.rpc.plugin_api.PluginApi` in a
:class:`MeteredPlugin` before handing it to the manager: every call or cast that raises a
messaging error (server unreachable, timeout, remote error) adds one to
``lbaas_agent_rpc_errors_total{method}`` (:class:`.counters.AgentMetrics`), and the
error goes on to the manager, which handles it as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import oslo_messaging as messaging

from lbaas.agent.metrics.counters import AgentMetrics
from lbaas.agent.ports import Plugin
from lbaas.core.tree import LoadBalancerTree

T = TypeVar("T")


class MeteredPlugin:
    """A :class:`Plugin` delegating every method to ``plugin``."""

    def __init__(self, plugin: Plugin, metrics: AgentMetrics) -> None:
        self.host = plugin.host
        self._plugin = plugin
        self._metrics = metrics

    def _call(self, method: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except messaging.MessagingException:
            self._metrics.rpc_failed(method)
            raise

    def get_ready_devices(self) -> list[str]:
        return self._call("get_ready_devices", self._plugin.get_ready_devices)

    def get_ready_revisions(self) -> dict[str, int]:
        return self._call("get_ready_revisions", self._plugin.get_ready_revisions)

    def get_loadbalancer(self, lb_id: str) -> LoadBalancerTree | None:
        return self._call("get_loadbalancer", lambda: self._plugin.get_loadbalancer(lb_id))

    def get_loadbalancers(self, lb_ids: list[str]) -> dict[str, LoadBalancerTree | None]:
        return self._call("get_loadbalancers",
                          lambda: self._plugin.get_loadbalancers(lb_ids))

    def update_status(self, obj_type: str, obj_id: str, provisioning_status: str | None = None,
                      operating_status: str | None = None, revision: int | None = None,
                      reason: str | None = None) -> None:
        self._call("update_status", lambda: self._plugin.update_status(
            obj_type, obj_id, provisioning_status=provisioning_status,
            operating_status=operating_status, revision=revision, reason=reason))

    def update_amphora(self, lb_id: str, status: str | None = None, role: str | None = None,
                       revision: int | None = None, reason: str | None = None) -> None:
        self._call("update_amphora", lambda: self._plugin.update_amphora(
            lb_id, status=status, role=role, revision=revision, reason=reason))

    def update_loadbalancer_stats(self, lb_id: str, stats: dict[str, Any]) -> None:
        self._call("update_loadbalancer_stats",
                   lambda: self._plugin.update_loadbalancer_stats(lb_id, stats))

    def loadbalancer_destroyed(self, lb_id: str) -> None:
        self._call("loadbalancer_destroyed", lambda: self._plugin.loadbalancer_destroyed(lb_id))

    def report_state(self, state: dict[str, Any]) -> None:
        self._call("report_state", lambda: self._plugin.report_state(state))
