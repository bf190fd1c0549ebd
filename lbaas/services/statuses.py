"""Status callbacks: how providers (noop in-process, haproxy through its agents) report back.

``finish_changes`` closes every PENDING_* under a load balancer in one transaction: objects being
deleted go away, the others become ACTIVE (or ERROR when the provider failed), and operating
statuses are recomputed from the latest member health. ``record_stats`` stores counters and
health read from HAProxy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.status import PENDING, Operating, Provisioning
from lbaas.db import models
from lbaas.db.engine import single_statement, write_session
from lbaas.services import networks, operating
from lbaas.services.tree import tree_objects

LOG = logging.getLogger(__name__)
COUNTERS = ("bytes_in", "bytes_out", "total_connections", "request_errors")


class StatusCallbacks:
    """Applies provider results to the database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def finish_changes(self, lb_id: str, ok: bool, reason: str | None = None,
                       member_health: Mapping[str, str] | None = None,
                       assume_healthy: bool = False, revision: int | None = None) -> bool:
        """Close all pending work on ``lb_id`` (success -> ACTIVE/removed, failure -> ERROR).

        With ``revision``, only if the load balancer is still at that revision: a report about
        an older change must not close a newer one. Returns whether anything was closed.
        """
        with write_session(self._factory) as session:
            closed = _finish_bare(session, lb_id, ok, revision, reason)
            if closed is not None:
                return closed
            lb = session.get(models.LoadBalancer, lb_id, with_for_update=True)
            if lb is None:
                return False
            if revision is not None and lb.revision != revision:
                LOG.info("ignoring report for load balancer %s at revision %s (now %s)",
                         lb_id, revision, lb.revision)
                return False
            if lb.provisioning_status == Provisioning.PENDING_DELETE and ok:
                delete_loadbalancer_rows(session, lb)
                LOG.info("load balancer %s deleted", lb_id)
                return True
            self._close_pending(session, lb, ok)
            if ok:
                health = {**known_health(lb), **(member_health or {})}
                apply_operating(lb, operating.rollup(lb, health, assume_healthy))
            else:
                LOG.warning("load balancer %s failed to provision: %s", lb_id, reason)
            return True

    def finish_many(self, lb_ids: Sequence[str]) -> None:
        """:meth:`finish_changes` with success for each of ``lb_ids``: those without listeners
        or pools in one statement (where the database has UPDATE … RETURNING), the others one
        by one."""
        rest = list(lb_ids)
        if self._factory.kw["bind"].dialect.name in ("postgresql", "sqlite"):
            with single_statement(self._factory) as conn:
                closed = set(conn.execute(_ACTIVATE_BARE,
                                          {"ids": rest, "now": models.utcnow()}).scalars())
            rest = [lb_id for lb_id in rest if lb_id not in closed]
        for lb_id in rest:
            self.finish_changes(lb_id, ok=True, assume_healthy=True)

    def _close_pending(self, session: Session, lb: models.LoadBalancer, ok: bool) -> None:
        removed = False
        for obj in list(tree_objects(lb)):
            if obj.provisioning_status not in PENDING:
                continue
            if obj.provisioning_status == Provisioning.PENDING_DELETE and ok:
                _detach_and_delete(session, lb, obj)
                removed = True
            else:
                obj.provisioning_status = Provisioning.ACTIVE if ok else Provisioning.ERROR
        session.flush()
        if removed:
            # The tree's collections still hold the deleted objects: read it again (the whole
            # tree, so only when something was deleted).
            session.expire(lb)
        if lb.provisioning_status in PENDING:
            lb.provisioning_status = Provisioning.ACTIVE if ok else Provisioning.ERROR
            lb.status_changed_at = models.utcnow()

    def loadbalancer_destroyed(self, lb_id: str) -> None:
        """The agent removed ``lb_id``: forget it if it was being deleted."""
        with write_session(self._factory) as session:
            lb = session.get(models.LoadBalancer, lb_id, with_for_update=True)
            if lb is not None and lb.provisioning_status == Provisioning.PENDING_DELETE:
                delete_loadbalancer_rows(session, lb)

    def record_stats(self, lb_id: str, listeners: Mapping[str, Mapping[str, int]],
                     member_health: Mapping[str, str]) -> None:
        """Store counters per listener and recompute operating statuses from member health."""
        with write_session(self._factory) as session:
            lb = session.get(models.LoadBalancer, lb_id)
            if lb is None:
                return
            known = {li.id for li in lb.listeners}
            for listener_id, values in listeners.items():
                if listener_id in known:
                    _accumulate(session, lb_id, listener_id, values)
            if member_health:
                health = {**known_health(lb), **member_health}
                apply_operating(lb, operating.rollup(lb, health))


_LB = models.LoadBalancer.__table__
_BARE_STATE = (
    select(_LB.c.provisioning_status, _LB.c.revision, _LB.c.admin_state_up,
           exists().where(models.Listener.load_balancer_id == _LB.c.id),
           exists().where(models.Pool.load_balancer_id == _LB.c.id),
           exists().where(models.Amphora.load_balancer_id == _LB.c.id))
    .where(_LB.c.id == bindparam("id")).with_for_update(of=_LB))
"""A load balancer's row (locked): what closing its pending work without loading the tree
needs (a pair's copies count as children: its operating status depends on them)."""


def _finish_bare(session: Session, lb_id: str, ok: bool, revision: int | None,
                 reason: str | None) -> bool | None:
    """:meth:`StatusCallbacks.finish_changes` for a load balancer without listeners or pools:
    two statements instead of loading the tree (an agent's report on a bare load balancer;
    the noop provider closes bare creates in batches with :data:`_ACTIVATE_BARE`).

    Returns None when the general path is needed (it has children, or is being deleted).
    """
    row = session.connection().execute(_BARE_STATE, {"id": lb_id}).first()
    if row is None:
        return False
    status, current_revision, admin_state_up, has_listeners, has_pools, has_copies = row
    if has_listeners or has_pools or has_copies or status == Provisioning.PENDING_DELETE:
        return None
    if revision is not None and current_revision != revision:
        return None  # the general path logs and ignores it
    values: dict[str, Any] = {}
    if status in PENDING:
        values.update(provisioning_status=Provisioning.ACTIVE if ok else Provisioning.ERROR,
                      status_changed_at=models.utcnow())
    if ok:
        values["operating_status"] = Operating.ONLINE if admin_state_up else Operating.OFFLINE
    else:
        LOG.warning("load balancer %s failed to provision: %s", lb_id, reason)
    session.connection().execute(update(models.LoadBalancer).where(_LB.c.id == lb_id)
                                 .values(**values))
    return True


_ACTIVATE_BARE = (
    update(models.LoadBalancer)
    .where(_LB.c.id.in_(bindparam("ids", expanding=True)),
           _LB.c.provisioning_status.in_((Provisioning.PENDING_CREATE,
                                          Provisioning.PENDING_UPDATE)),
           ~exists().where(models.Listener.load_balancer_id == _LB.c.id),
           ~exists().where(models.Pool.load_balancer_id == _LB.c.id))
    .values(provisioning_status=Provisioning.ACTIVE, status_changed_at=bindparam("now"),
            operating_status=case((_LB.c.admin_state_up, Operating.ONLINE),
                                  else_=Operating.OFFLINE))
    .returning(_LB.c.id))
"""Close, successfully, the pending work of those load balancers that have no children."""


def _accumulate(session: Session, lb_id: str, listener_id: str, values: Mapping[str, int]
                ) -> None:
    row = session.get(models.LoadBalancerStats, listener_id)
    if row is None:
        row = models.LoadBalancerStats(listener_id=listener_id, load_balancer_id=lb_id,
                                       bytes_in=0, bytes_out=0, active_connections=0,
                                       total_connections=0, request_errors=0, reported={})
        session.add(row)
    last: dict[str, Any] = dict(row.reported or {})
    for name in COUNTERS:
        now = int(values.get(name, 0))
        before = int(last.get(name, 0))
        grown = now - before if now >= before else now  # below the last value: HAProxy restarted
        setattr(row, name, int(getattr(row, name) or 0) + grown)
        last[name] = now
    row.active_connections = int(values.get("active_connections", 0))
    row.reported = last


def known_health(lb: models.LoadBalancer) -> dict[str, str]:
    """Member health as last stored (so a provisioning report does not forget it)."""
    out: dict[str, str] = {}
    for pool in lb.pools:
        for m in pool.members:
            if m.operating_status in (Operating.ONLINE, Operating.DRAINING):
                out[m.id] = Operating.ONLINE
            elif m.operating_status == Operating.ERROR:
                out[m.id] = Operating.ERROR
    return out


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
    if isinstance(obj, models.Listener):
        session.execute(delete(models.LoadBalancerStats)
                        .where(models.LoadBalancerStats.listener_id == obj.id))
    session.delete(obj)


def delete_loadbalancer_rows(session: Session, lb: models.LoadBalancer) -> None:
    """Remove a load balancer, its whole tree, its VIP and source ports and its statistics."""
    for li in lb.listeners:
        li.default_pool_id = None
    session.flush()
    # Tags go with their objects (tag_rows cascades); statistics and the port are separate rows.
    session.execute(delete(models.LoadBalancerStats)
                    .where(models.LoadBalancerStats.load_balancer_id == lb.id))
    ports = [networks.source_port_id(lb.id)] + ([lb.vip_port_id] if lb.vip_port_id else [])
    ports += [amphora.vrrp_port_id for amphora in lb.amphorae if amphora.vrrp_port_id]
    session.execute(delete(models.Port).where(models.Port.id.in_(ports)))
    session.delete(lb)


def loadbalancer_ids_pending(session: Session) -> list[str]:
    return list(session.scalars(select(models.LoadBalancer.id)
                                .where(models.LoadBalancer.provisioning_status.in_(PENDING))))
