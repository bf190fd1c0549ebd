"""The agent's RPC endpoint: what the server may call on topic ``lbaas_agent.<host>``.

Served by :class:`lbaas.agent.service.AgentService`. It exposes exactly the cast names of
:mod:`lbaas.rpc.agent_api` and nothing else (the manager's other public methods are not reachable
over the bus). Every method is a one-line hand-off: "refresh load balancer X" on the manager's
work queue (STYLE.md point 7), or "rebuild X" for a failover.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import oslo_messaging as messaging

from lbaas.rpc import agent_api
from lbaas.rpc.topics import RPC_NAMESPACE

if TYPE_CHECKING:
    from lbaas.agent.manager import AgentManager

LOG = logging.getLogger(__name__)


class AgentRpcEndpoint:
    """The agent casts of :mod:`lbaas.rpc.agent_api`, each queueing work on the manager."""

    target = messaging.Target(namespace=RPC_NAMESPACE, version=agent_api.VERSION)

    def __init__(self, manager: AgentManager) -> None:
        self._manager = manager

    def _on_change(
        self,
        context: dict[str, Any],
        obj_id: str | None = None,
        loadbalancer_id: str | None = None,
        **_: Any,
    ) -> None:
        """Something under ``loadbalancer_id`` changed: refresh it from the server's tree."""
        lb_id = loadbalancer_id or obj_id
        if not lb_id:
            LOG.warning("cast without a load balancer id ignored (context %s)", context)
            return
        self._manager.schedule(lb_id)

    create_loadbalancer = update_loadbalancer = delete_loadbalancer = _on_change
    create_listener = update_listener = delete_listener = _on_change
    create_pool = update_pool = delete_pool = _on_change
    create_member = update_member = delete_member = _on_change
    create_health_monitor = update_health_monitor = delete_health_monitor = _on_change
    create_l7policy = update_l7policy = delete_l7policy = _on_change
    create_l7rule = update_l7rule = delete_l7rule = _on_change

    def failover_loadbalancer(
        self,
        context: dict[str, Any],
        obj_id: str | None = None,
        loadbalancer_id: str | None = None,
        **_: Any,
    ) -> None:
        """Rebuild the load balancer from scratch (new namespace, new haproxy)."""
        lb_id = loadbalancer_id or obj_id
        if lb_id:
            self._manager.schedule(lb_id, rebuild=True)
