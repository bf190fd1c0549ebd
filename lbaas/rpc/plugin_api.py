"""Agent -> server RPC (the "plugin" side of the LBaaS v2 agent design).

Version history:
    1.0 - get_ready_devices, get_loadbalancer, update_status, update_loadbalancer_stats,
          loadbalancer_destroyed (and the other *_destroyed), report_state
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from lbaas.rpc.topics import PLUGIN_TOPIC
from lbaas.rpc.transport import make_client

VERSION = "1.0"


class PluginApi:
    """What an agent asks of, and reports to, the server. One method per remote call."""

    def __init__(self, transport: messaging.RPCTransport, host: str) -> None:
        self.host = host
        self._client = make_client(transport, PLUGIN_TOPIC, VERSION)

    def get_ready_devices(self) -> list[str]:
        """Ids of every load balancer scheduled to this agent (including ones being deleted)."""
        return list(self._client.call({}, "get_ready_devices", host=self.host))

    def get_loadbalancer(self, lb_id: str) -> dict[str, Any] | None:
        """The full tree (``LoadBalancerTree`` shape plus ``revision``), or None if gone."""
        result: dict[str, Any] | None = self._client.call({}, "get_loadbalancer",
                                                          loadbalancer_id=lb_id)
        return result

    def update_status(self, obj_type: str, obj_id: str, provisioning_status: str | None = None,
                      operating_status: str | None = None, revision: int | None = None,
                      reason: str | None = None) -> None:
        """Report the outcome of applying a change (``obj_type`` 'loadbalancer' closes all of
        the load balancer's pending work at ``revision``)."""
        self._client.call({}, "update_status", obj_type=obj_type, obj_id=obj_id,
                          provisioning_status=provisioning_status,
                          operating_status=operating_status, revision=revision, reason=reason)

    def update_loadbalancer_stats(self, lb_id: str, stats: dict[str, Any]) -> None:
        """Counters per listener and member health, as read from HAProxy.

        ``stats`` = {"listeners": {listener_id: {bytes_in, bytes_out, active_connections,
        total_connections, request_errors}}, "members": {member_id: "ONLINE" | "ERROR"}}
        """
        self._client.cast({}, "update_loadbalancer_stats", loadbalancer_id=lb_id, stats=stats)

    def loadbalancer_destroyed(self, lb_id: str) -> None:
        """The load balancer is gone from this agent: the server forgets it."""
        self._client.call({}, "loadbalancer_destroyed", loadbalancer_id=lb_id)

    def report_state(self, state: dict[str, Any]) -> None:
        """Heartbeat: ``{"host", "configurations": {"bridge_mappings", "load_balancers", …}}``."""
        self._client.cast({}, "report_state", state=state)
