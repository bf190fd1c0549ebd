"""The provisioning state machine and its guard.

Every change under a load balancer first takes the load balancer with a compare-and-set UPDATE
(``ACTIVE -> PENDING_UPDATE``, or ``ACTIVE|ERROR -> PENDING_DELETE``). Exactly one of any number
of concurrent requests wins on every database: PostgreSQL/MySQL re-check the WHERE clause after
the row lock, SQLite serialises write transactions (``BEGIN IMMEDIATE``). The losers get 409.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload

from lbaas.core.errors import POLICY_REFUSED, Conflict, Forbidden, NotFound, ServiceError
from lbaas.core.status import MUTABLE, PENDING, Provisioning
from lbaas.db.models import LoadBalancer, utcnow


def get_scoped(session: Session, model: Any, obj_id: str, scope_project: str | None) -> Any:
    """The object with ``obj_id`` visible to the caller, else :func:`out_of_scope`."""
    stmt = select(model).where(model.id == obj_id)
    if scope_project is not None:
        stmt = stmt.where(model.project_id == scope_project)
    obj = session.scalars(stmt).first()
    if obj is None:
        raise out_of_scope(session, model, obj_id)
    return obj


def out_of_scope(session: Session, model: Any, obj_id: str) -> ServiceError:
    """The error for an object the caller's scoped query did not find: 403 when it exists in
    another project, 404 when it does not exist at all.

    As Octavia: its policy check runs against the object's own project, so another project's
    object is refused with 403 (its id alone reveals nothing; ids are random UUIDs). Lists never
    show another project's objects. Only called on a miss, so the common path costs one query.
    """
    if session.scalar(select(model.id).where(model.id == obj_id)) is not None:
        return Forbidden(POLICY_REFUSED)
    return NotFound(model.kind.label, obj_id)


def take_loadbalancer(session: Session, lb_id: str, scope_project: str | None,
                      to_status: str = Provisioning.PENDING_UPDATE,
                      allowed: Iterable[str] = MUTABLE, child: str | None = None) -> LoadBalancer:
    """Atomically move the load balancer into ``to_status`` from one of ``allowed``.

    Raises 404 when the caller cannot see it and 409 naming the blocking object when it is busy.
    ``child`` names the object the caller wants to change, for the message.
    """
    allowed = tuple(allowed)
    stmt = (update(LoadBalancer)
            .where(LoadBalancer.id == lb_id, LoadBalancer.provisioning_status.in_(allowed))
            .values(provisioning_status=to_status, status_changed_at=utcnow(),
                    updated_at=utcnow(), revision=LoadBalancer.revision + 1)
            .execution_options(synchronize_session=False))
    if scope_project is not None:
        stmt = stmt.where(LoadBalancer.project_id == scope_project)
    result = session.execute(stmt)
    # Its children load when a caller reads them: most changes read few of them, and loading
    # the whole tree here cost about a third of a member change's request.
    lb = session.scalars(select(LoadBalancer).where(LoadBalancer.id == lb_id)
                         .options(lazyload("*"))
                         .execution_options(populate_existing=True)).first()
    if lb is None:
        raise NotFound(LoadBalancer.kind.label, lb_id)
    if scope_project is not None and lb.project_id != scope_project:
        raise Forbidden(POLICY_REFUSED)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        what = f" so {child} cannot be changed" if child else ""
        raise Conflict(f"Load Balancer {lb_id} is immutable and cannot be updated: its "
                       f"provisioning_status is {lb.provisioning_status}{what}.")
    return lb


def require_not_pending(obj: object, label: str) -> None:
    status = getattr(obj, "provisioning_status", None)
    if status in PENDING:
        raise Conflict(f"{label} {getattr(obj, 'id', '')} is in {status} and cannot be changed.")
