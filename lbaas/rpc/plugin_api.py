"""Agent -> server RPC (the "plugin" side of the LBaaS v2 agent design).

Every message carries the calling thread's request id in its context (``{"request_id": …}``):
the server logs its handling under the id of the change (or periodic pass) that caused it.

Version history:
    1.0 - get_ready_devices, get_loadbalancer, update_status, update_loadbalancer_stats,
          loadbalancer_destroyed (and the other *_destroyed), report_state
    1.1 - get_loadbalancers (many trees in one call, for full syncs)
    1.2 - update_amphora (a copy of an ACTIVE_STANDBY load balancer: built, failed, its role)
    1.3 - get_ready_revisions (the revision of each load balancer scheduled here, for the
          light syncs that refresh only what changed)
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from lbaas.core.request_ids import rpc_context
from lbaas.core.tree import LoadBalancerTree, TreeRejected, parse_tree
from lbaas.rpc.topics import PLUGIN_TOPIC
from lbaas.rpc.transport import make_client

VERSION = "1.0"
"""The version the client asks for by default: every 1.0 method works with a 1.0 server."""
READY_TIMEOUT = 10
"""Seconds :meth:`PluginApi.get_ready_devices` waits for its answer."""
BATCH_VERSION = "1.1"
"""Needed by :meth:`PluginApi.get_loadbalancers` (a 1.0 server refuses it: UnsupportedVersion)."""
COPIES_VERSION = "1.2"
"""Needed by :meth:`PluginApi.update_amphora`."""
REVISIONS_VERSION = "1.3"
"""Needed by :meth:`PluginApi.get_ready_revisions`."""


class PluginApi:
    """What an agent asks of, and reports to, the server. One method per remote call."""

    def __init__(self, transport: messaging.RPCTransport, host: str) -> None:
        self.host = host
        self._client = make_client(transport, PLUGIN_TOPIC, VERSION)
        self._batch_client = self._client.prepare(version=BATCH_VERSION)
        self._copies_client = self._client.prepare(version=COPIES_VERSION)
        self._revisions_client = self._client.prepare(version=REVISIONS_VERSION,
                                                      timeout=READY_TIMEOUT)

    def get_ready_devices(self) -> list[str]:
        """Ids of every load balancer scheduled to this agent (including ones being deleted).

        A short timeout: a call whose reply was lost (the broker restarted meanwhile) must not
        hold up the sync that repairs what the restart lost."""
        return list(self._client.prepare(timeout=READY_TIMEOUT).call(
            {}, "get_ready_devices", host=self.host))

    def get_ready_revisions(self) -> dict[str, int]:
        """``{id: revision}`` of every load balancer scheduled to this agent; a short timeout,
        as :meth:`get_ready_devices`. Raises UnsupportedVersion from a server older than 1.3
        (the caller then syncs in full)."""
        revisions: dict[str, int] = self._revisions_client.call(
            {}, "get_ready_revisions", host=self.host)
        return {lb_id: int(revision) for lb_id, revision in revisions.items()}

    def get_loadbalancer(self, lb_id: str) -> LoadBalancerTree | None:
        """The current tree of ``lb_id``, or None if the server no longer knows it.

        Raises :class:`lbaas.core.tree.TreeRejected` when the server's tree does not fit this
        agent's :class:`LoadBalancerTree`."""
        return parse_tree(self._client.call(rpc_context(), "get_loadbalancer",
                                            loadbalancer_id=lb_id))

    def get_loadbalancers(self, lb_ids: list[str]) -> dict[str, LoadBalancerTree | None]:
        """The trees of ``lb_ids`` in one call: ``{id: tree or None if gone}``. A tree this
        agent cannot read is left out (its refresh fetches it alone and reports why).

        Raises a MessagingException (e.g. UnsupportedVersion from a 1.0 server) the caller may
        answer by fetching one tree at a time.
        """
        raw_trees: dict[str, Any] = self._batch_client.call(
            {}, "get_loadbalancers", loadbalancer_ids=list(lb_ids))
        trees: dict[str, LoadBalancerTree | None] = {}
        for lb_id, raw in raw_trees.items():
            try:
                trees[lb_id] = parse_tree(raw)
            except TreeRejected:
                continue
        return trees

    def update_status(self, obj_type: str, obj_id: str, provisioning_status: str | None = None,
                      operating_status: str | None = None, revision: int | None = None,
                      reason: str | None = None) -> None:
        """Report the outcome of applying a change (``obj_type`` 'loadbalancer' closes all of
        the load balancer's pending work at ``revision``)."""
        self._client.call(rpc_context(), "update_status", obj_type=obj_type, obj_id=obj_id,
                          provisioning_status=provisioning_status,
                          operating_status=operating_status, revision=revision, reason=reason)

    def update_amphora(self, lb_id: str, status: str | None = None, role: str | None = None,
                       revision: int | None = None, reason: str | None = None) -> None:
        """Report on this host's copy of ACTIVE_STANDBY load balancer ``lb_id``: built
        (``status`` ALLOCATED, at ``revision``) or failed (ERROR, with ``reason``), and/or its
        VRRP ``role`` as keepalived now sees it (MASTER, BACKUP, FAULT)."""
        self._copies_client.call(rpc_context(), "update_amphora", host=self.host,
                                 loadbalancer_id=lb_id, status=status, role=role,
                                 revision=revision, reason=reason)

    def update_loadbalancer_stats(self, lb_id: str, stats: dict[str, Any]) -> None:
        """Counters per listener and member health, as read from HAProxy.

        ``stats`` = {"listeners": {listener_id: {bytes_in, bytes_out, active_connections,
        total_connections, request_errors}}, "members": {member_id: "ONLINE" | "ERROR"}}
        """
        self._client.cast(rpc_context(), "update_loadbalancer_stats", loadbalancer_id=lb_id,
                          stats=stats)

    def loadbalancer_destroyed(self, lb_id: str) -> None:
        """The load balancer is gone from this agent: the server forgets it."""
        self._client.call(rpc_context(), "loadbalancer_destroyed", loadbalancer_id=lb_id)

    def report_state(self, state: dict[str, Any]) -> None:
        """Heartbeat: ``{"host", "configurations": {"bridge_mappings", "load_balancers", …}}``.

        Not retried: a heartbeat that cannot be sent fails at once (MessageDeliveryFailure), so
        the agent learns that it lost the server and syncs in full when it is back."""
        self._client.prepare(retry=0).cast(rpc_context(), "report_state", state=state)
