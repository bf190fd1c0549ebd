"""The agent's RPC endpoint: what the server may call on topic ``lbaas_agent.<host>``.

Served by :class:`lbaas.agent.service.AgentService`. It exposes exactly the cast and call names
of :mod:`lbaas.rpc.agent_api` and nothing else (the manager's other public methods are not reachable
over the bus). Every method runs with the request id of the cast's context bound (a new one if it
carries none or an invalid one, :func:`lbaas.core.request_ids.bound_from_rpc`), and the
work it queues carries that id. Every method is a one-line hand-off: "refresh load balancer X"
on the manager's work queue, or "rebuild X" for a failover. Whatever object a cast names, the
agent rebuilds the whole load balancer from the server's current tree (or, for a member change
that carries itself, from the tree it deployed plus that change): one code path instead of a
handler per object and action. The cast names themselves (``create_pool``, ``update_member``, …)
are the seed's LBaaS v2 agent API, generated from the registry of kinds
(:func:`lbaas.core.kinds.change_methods`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import oslo_messaging as messaging
from pydantic import ValidationError

from lbaas.core.kinds import change_methods
from lbaas.core.request_ids import bound_from_rpc
from lbaas.core.tree import MemberChange
from lbaas.rpc import agent_api
from lbaas.rpc.topics import RPC_NAMESPACE

if TYPE_CHECKING:
    from lbaas.agent.manager import AgentManager

LOG = logging.getLogger(__name__)


class AgentRpcEndpoint:
    """The agent casts of :mod:`lbaas.rpc.agent_api`, each queueing work on the manager."""

    target = messaging.Target(namespace=RPC_NAMESPACE, version=agent_api.LATEST_VERSION)

    def __init__(self, manager: AgentManager) -> None:
        self._manager = manager

    @bound_from_rpc
    def _on_change(
        self,
        context: dict[str, Any],
        obj_id: str | None = None,
        loadbalancer_id: str | None = None,
        member_change: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        """Something under ``loadbalancer_id`` changed: refresh it from the server's tree, or
        from the tree deployed and the ``member_change`` the cast carries (RPC 1.2)."""
        lb_id = loadbalancer_id or obj_id
        if not lb_id:
            LOG.warning("cast without a load balancer id ignored")
            return
        change = None
        if member_change is not None:
            try:
                change = MemberChange.model_validate(member_change)
            except ValidationError as exc:
                LOG.warning("load balancer %s: unreadable member change ignored (the tree is "
                            "fetched instead): %s", lb_id, exc)
        # Under the cast's request id, bound by the decorator.
        self._manager.schedule(lb_id, member_change=change)

    @bound_from_rpc
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

    @bound_from_rpc
    def probe_addresses(
        self,
        context: dict[str, Any],
        network_id: str,
        network_name: str | None = None,
        addresses: list[str] | None = None,
        **_: Any,
    ) -> list[str] | None:
        """A call, not a cast: which of ``addresses`` answer on the network's bridge here."""
        return self._manager.probe_addresses(network_id, network_name, list(addresses or []))


# Every create/update/delete cast of the registry's kinds is a change to refresh. Set here, not
# spelled in the class body, so a new kind cannot be forgotten on the agent side.
for _method in change_methods():
    if not hasattr(AgentRpcEndpoint, _method):
        setattr(AgentRpcEndpoint, _method, AgentRpcEndpoint._on_change)
