"""Server -> agent RPC: one cast per object change, addressed to the hosting agent.

The method names follow the LBaaS v2 agent design (create/update/delete per object), generated
from the registry of kinds (:func:`lbaas.core.kinds.change_methods`). Payloads
carry ids only: the agent fetches the load balancer's current tree from the server, because the
database, not the message, is the truth.

Version history:
    1.0 - {create,update,delete}_{loadbalancer,listener,pool,member,health_monitor,l7policy,
          l7rule}, failover_loadbalancer
"""

from __future__ import annotations

import oslo_messaging as messaging

from lbaas.rpc.topics import agent_topic
from lbaas.rpc.transport import make_client

VERSION = "1.0"


class AgentApi:
    """Casts to the agent on ``host``."""

    def __init__(self, transport: messaging.RPCTransport) -> None:
        self._transport = transport
        self._clients: dict[str, messaging.RPCClient] = {}

    def _client(self, host: str) -> messaging.RPCClient:
        if host not in self._clients:
            self._clients[host] = make_client(self._transport, agent_topic(host), VERSION)
        return self._clients[host]

    def cast(self, host: str, method: str, obj_id: str, lb_id: str, request_id: str = ""
             ) -> None:
        """Send ``method`` (e.g. 'update_member') about ``obj_id`` under ``lb_id``."""
        self._client(host).cast({"request_id": request_id}, method, obj_id=obj_id,
                                loadbalancer_id=lb_id)
