"""Server-side RPC endpoints answering agents. Each method is a hand-off to a service, run with
the request id the agent sent bound (:func:`lbaas.core.request_ids.bound_from_rpc`): the
server's log lines handling a report carry the id of the change the agent applied."""

from __future__ import annotations

import logging
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.amphora import AmphoraStatus
from lbaas.core.errors import InvalidInput
from lbaas.core.kinds import LOADBALANCER
from lbaas.core.request_ids import bound_from_rpc
from lbaas.core.status import PENDING, Provisioning
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.rpc import plugin_api
from lbaas.services import agents, copies, operating, statuses
from lbaas.services.statuses import StatusCallbacks
from lbaas.services.tls import SecretReader
from lbaas.services.tree import build_tree

LOG = logging.getLogger(__name__)

MAX_IDS_PER_QUERY = 500
"""Ids per ``IN (...)`` query of :meth:`PluginEndpoints.get_loadbalancers`."""


class PluginEndpoints:
    """What agents call (see ``lbaas.rpc.plugin_api`` for the client side)."""

    target = messaging.Target(version=plugin_api.REVISIONS_VERSION, namespace="lbaas")

    def __init__(self, conf: cfg.ConfigOpts, sessions: sessionmaker[Session],
                 status: StatusCallbacks, secrets: SecretReader | None = None) -> None:
        self._conf = conf
        self._sessions = sessions
        self._status = status
        self._secrets = secrets  # the TLS material of the trees

    @bound_from_rpc
    def get_ready_devices(self, ctx: Any, host: str) -> list[str]:
        with read_session(self._sessions) as session:
            agent = session.scalars(select(models.Agent).where(models.Agent.host == host)).first()
            if agent is None:
                return []
            return agents.hosted_ids(session, agent.id)

    def get_ready_revisions(self, ctx: Any, host: str) -> dict[str, int]:
        """``{id: revision}`` of every load balancer scheduled to ``host`` (RPC 1.3)."""
        with read_session(self._sessions) as session:
            agent = session.scalars(select(models.Agent).where(models.Agent.host == host)).first()
            if agent is None:
                return {}
            return agents.hosted_revisions(session, agent.id)

    @bound_from_rpc
    def get_loadbalancer(self, ctx: Any, loadbalancer_id: str) -> dict[str, Any] | None:
        """The tree of ``loadbalancer_id`` in its JSON form (None once it is gone)."""
        with read_session(self._sessions) as session:
            lb = session.get(models.LoadBalancer, loadbalancer_id)
            if lb is None:
                return None
            return build_tree(session, lb, self._secrets).model_dump(mode="json")

    @bound_from_rpc
    def get_loadbalancers(self, ctx: Any, loadbalancer_ids: list[str]
                          ) -> dict[str, dict[str, Any] | None]:
        """Many trees in one read session (children load in a few batched queries)."""
        trees: dict[str, dict[str, Any] | None] = dict.fromkeys(loadbalancer_ids)
        ids = list(trees)
        with read_session(self._sessions) as session:
            for start in range(0, len(ids), MAX_IDS_PER_QUERY):
                chunk = ids[start:start + MAX_IDS_PER_QUERY]
                query = select(models.LoadBalancer).where(models.LoadBalancer.id.in_(chunk))
                for lb in session.scalars(query):
                    try:
                        tree = build_tree(session, lb, self._secrets)
                    except InvalidInput as exc:
                        # A secret became unreadable: left out, this tree's own fetch fails
                        # alone (the agent keeps what it runs) instead of the whole sync.
                        LOG.warning("cannot build the tree of load balancer %s: %s", lb.id, exc)
                        del trees[lb.id]
                        continue
                    trees[lb.id] = tree.model_dump(mode="json")
        return trees

    @bound_from_rpc
    def update_status(self, ctx: Any, obj_type: str, obj_id: str,
                      provisioning_status: str | None = None,
                      operating_status: str | None = None, revision: int | None = None,
                      reason: str | None = None) -> None:
        LOG.debug("update_status of %s %s: %s at revision %s", obj_type, obj_id,
                  provisioning_status, revision)
        if obj_type != LOADBALANCER.name:
            LOG.warning("update_status for %s %s ignored: agents report per load balancer",
                        obj_type, obj_id)
            return
        if provisioning_status in (Provisioning.ACTIVE, Provisioning.ERROR):
            self._status.finish_changes(obj_id, ok=provisioning_status == Provisioning.ACTIVE,
                                        reason=reason, revision=revision)

    @bound_from_rpc
    def update_amphora(self, ctx: Any, host: str, loadbalancer_id: str,
                       status: str | None = None, role: str | None = None,
                       revision: int | None = None, reason: str | None = None) -> None:
        """A copy of a pair reports: once every working copy applied ``revision`` the pair's
        change closes (ACTIVE); a failed copy fails it (ERROR, with the reason); otherwise the
        operating status follows the copies (DEGRADED while one is not built)."""
        LOG.debug("update_amphora of load balancer %s from %s: status %s, role %s, revision %s",
                  loadbalancer_id, host, status, role, revision)
        with write_session(self._sessions) as session:
            amphora = copies.record_report(session, loadbalancer_id, host, status, role,
                                           revision)
            if amphora is None:
                return
            lb = amphora.load_balancer
            pending = lb.provisioning_status in PENDING
            done = (status == AmphoraStatus.ALLOCATED and revision is not None and pending
                    and copies.pair_applied(lb, revision))
            if not pending and status is not None:
                statuses.apply_operating(lb, operating.rollup(lb, statuses.known_health(lb)))
        if status == AmphoraStatus.ERROR:
            self._status.finish_changes(loadbalancer_id, ok=False, reason=reason,
                                        revision=revision)
        elif done:
            self._status.finish_changes(loadbalancer_id, ok=True, revision=revision)

    @bound_from_rpc
    def update_loadbalancer_stats(self, ctx: Any, loadbalancer_id: str,
                                  stats: dict[str, Any]) -> None:
        self._status.record_stats(loadbalancer_id, stats.get("listeners") or {},
                                  stats.get("members") or {})

    @bound_from_rpc
    def loadbalancer_destroyed(self, ctx: Any, loadbalancer_id: str) -> None:
        self._status.loadbalancer_destroyed(loadbalancer_id)

    @bound_from_rpc
    def report_state(self, ctx: Any, state: dict[str, Any]) -> None:
        with write_session(self._sessions) as session:
            agents.report_state(session, state, self._conf.housekeeping.agent_down_time)
