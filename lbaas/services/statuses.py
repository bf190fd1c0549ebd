"""Status callbacks: how providers (noop in-process, haproxy through its agents) report back.

``finish_changes`` closes every PENDING_* under a load balancer in one transaction: objects being
deleted go away, the others become ACTIVE (or ERROR when the provider failed), and operating
statuses are recomputed from the latest member health.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.services import operating
from lbaas.services.state import ACTIVE, ERROR, PENDING, PENDING_DELETE
from lbaas.services.tree import tree_objects

LOG = logging.getLogger(__name__)


class StatusCallbacks:
    """Applies provider results to the database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def finish_changes(self, lb_id: str, ok: bool, reason: str | None = None,
                       member_health: Mapping[str, str] | None = None,
                       assume_healthy: bool = False) -> None:
        """Close all pending work on ``lb_id`` (success -> ACTIVE/removed, failure -> ERROR)."""
        with write_session(self._factory) as session:
            lb = session.get(models.LoadBalancer, lb_id)
            if lb is None:
                return
            if lb.provisioning_status == PENDING_DELETE and ok:
                delete_loadbalancer_rows(session, lb)
                LOG.info("load balancer %s deleted", lb_id)
                return
            self._close_pending(session, lb, ok)
            if ok:
                statuses = operating.rollup(lb, member_health or {}, assume_healthy)
                apply_operating(lb, statuses)
            else:
                LOG.warning("load balancer %s failed to provision: %s", lb_id, reason)

    def _close_pending(self, session: Session, lb: models.LoadBalancer, ok: bool) -> None:
        for obj in list(tree_objects(lb)):
            if obj.provisioning_status not in PENDING:
                continue
            if obj.provisioning_status == PENDING_DELETE and ok:
                _detach_and_delete(session, lb, obj)
            else:
                obj.provisioning_status = ACTIVE if ok else ERROR
        session.flush()
        session.expire(lb)
        if lb.provisioning_status in PENDING:
            lb.provisioning_status = ACTIVE if ok else ERROR
            lb.status_changed_at = models.utcnow()

    def update_member_health(self, lb_id: str, member_health: Mapping[str, str]) -> None:
        """Recompute operating statuses from fresh health data without touching provisioning."""
        with write_session(self._factory) as session:
            lb = session.get(models.LoadBalancer, lb_id)
            if lb is None:
                return
            apply_operating(lb, operating.rollup(lb, member_health))


def apply_operating(lb: models.LoadBalancer, statuses: Mapping[str, str]) -> None:
    """Write computed operating statuses onto the tree (only where they changed)."""
    for obj in [lb, *tree_objects(lb)]:
        status = statuses.get(obj.id)
        if status is not None and obj.operating_status != status:
            obj.operating_status = status


def _detach_and_delete(session: Session, lb: models.LoadBalancer, obj: object) -> None:
    if isinstance(obj, models.Pool):
        for li in lb.listeners:
            if li.default_pool_id == obj.id:
                li.default_pool_id = None
        session.flush()
    session.delete(obj)


def delete_loadbalancer_rows(session: Session, lb: models.LoadBalancer) -> None:
    """Remove a load balancer, its whole tree, its VIP port and its statistics."""
    for li in lb.listeners:
        li.default_pool_id = None
    session.flush()
    tree_ids = [o.id for o in tree_objects(lb)] + [lb.id]
    session.execute(delete(models.Tag).where(models.Tag.resource_id.in_(tree_ids)))
    session.execute(delete(models.LoadBalancerStats)
                    .where(models.LoadBalancerStats.load_balancer_id == lb.id))
    if lb.vip_port_id:
        session.execute(delete(models.Port).where(models.Port.id == lb.vip_port_id))
    session.expire(lb, ["tag_rows"])
    session.delete(lb)


def loadbalancer_ids_pending(session: Session) -> list[str]:
    return list(session.scalars(select(models.LoadBalancer.id)
                                .where(models.LoadBalancer.provisioning_status.in_(PENDING))))
