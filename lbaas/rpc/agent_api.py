"""Server -> agent RPC: one cast per object change, addressed to the hosting agent.

The method names follow the LBaaS v2 agent design (create/update/delete per object), generated
from the registry of kinds (:func:`lbaas.core.kinds.change_methods`). Payloads
carry ids: the agent fetches the load balancer's current tree from the server, because the
database, not the message, is the truth. The one exception is a cast about one member whose
change is the tree's whole difference from the revision before: it carries that change
(:class:`lbaas.core.tree.MemberChange`), and an agent that deployed that revision applies it
instead of fetching (it fetches otherwise).

Version history:
    1.0 - {create,update,delete}_{loadbalancer,listener,pool,member,health_monitor,l7policy,
          l7rule}, failover_loadbalancer
    1.1 - probe_addresses (a call: which addresses answer on a network's bridge)
    1.2 - member casts may carry ``member_change``; casts still ask for 1.0, since an older
          agent ignores the argument and fetches the tree
"""

from __future__ import annotations

import oslo_messaging as messaging

from lbaas.core.request_ids import CONTEXT_KEY, rpc_context
from lbaas.core.tree import MemberChange
from lbaas.rpc.topics import agent_topic
from lbaas.rpc.transport import make_client

VERSION = "1.0"
"""The version casts ask for: every 1.0 agent takes them."""
PROBE_VERSION = "1.1"
LATEST_VERSION = "1.2"
"""What this agent serves."""
PROBE_TIMEOUT = 10
"""Seconds the server waits for a probe's answer (the probe itself takes about one)."""


class AgentApi:
    """Casts to the agent on ``host``."""

    def __init__(self, transport: messaging.RPCTransport) -> None:
        self._transport = transport
        self._clients: dict[str, messaging.RPCClient] = {}

    def _client(self, host: str) -> messaging.RPCClient:
        if host not in self._clients:
            self._clients[host] = make_client(self._transport, agent_topic(host), VERSION)
        return self._clients[host]

    def cast(self, host: str, method: str, obj_id: str, lb_id: str, request_id: str = "",
             member_change: MemberChange | None = None) -> None:
        """Send ``method`` (e.g. 'update_member') about ``obj_id`` under ``lb_id``, with the
        ``member_change`` that spares the agent the tree fetch if there is one; the agent logs
        the work under ``request_id`` (the API request's, by default the current one)."""
        context = {CONTEXT_KEY: request_id} if request_id else rpc_context()
        extra = {} if member_change is None else {
            "member_change": member_change.model_dump(mode="json")}
        self._client(host).cast(context, method, obj_id=obj_id, loadbalancer_id=lb_id,
                                **extra)

    def probe_addresses(self, host: str, network_id: str, network_name: str | None,
                        addresses: list[str]) -> list[str] | None:
        """Ask the agent on ``host`` which of ``addresses`` answer on the network's bridge
        (None: it maps no bridge to the network). Raises a MessagingException when the agent
        does not answer in time."""
        client = self._client(host).prepare(version=PROBE_VERSION, timeout=PROBE_TIMEOUT)
        answered = client.call(rpc_context(), "probe_addresses", network_id=network_id,
                               network_name=network_name, addresses=list(addresses))
        return None if answered is None else [str(a) for a in answered]
