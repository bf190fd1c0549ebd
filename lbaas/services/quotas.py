"""Per-project quotas, one row per project; NULL means "use the default", -1 unlimited.

Creating services call :func:`check`; the ``/v2/lbaas/quotas`` routes call the list, show,
update and reset functions.

Checks run inside the creating transaction with the project's quota row locked
(``SELECT … FOR UPDATE``; SQLite serialises writers), so concurrent creates cannot overshoot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lbaas.core.errors import QuotaExceeded
from lbaas.db import models
from lbaas.schemas.admin import QuotaUpdate


@dataclass(frozen=True)
class QuotaResource:
    field: str  # quota column and API attribute
    model: Any
    label: str
    legacy_field: str | None = None  # deprecated alias Octavia still returns


RESOURCES = tuple(QuotaResource(model.kind.quota, model, model.kind.words,
                                model.kind.quota_alias) for model in models.TREE_MODELS)
BY_MODEL = {r.model: r for r in RESOURCES}
FIELDS = tuple(r.field for r in RESOURCES)
_QUOTA_ROW = select(*models.Quota.__table__.columns).where(
    models.Quota.__table__.c.project_id == bindparam("project_id"))


def defaults(conf: cfg.ConfigOpts) -> dict[str, int]:
    return {r.field: getattr(conf.quotas, f"default_{r.field}_quota") for r in RESOURCES}


def quota_view(row: models.Quota | None, conf: cfg.ConfigOpts, project_id: str,
               resolve_defaults: bool = True) -> dict[str, Any]:
    """A project's quota as the API shows it (defaults filled in when ``resolve_defaults``)."""
    base = defaults(conf)
    out: dict[str, Any] = {"project_id": project_id}
    for r in RESOURCES:
        value = getattr(row, r.field) if row is not None else None
        if value is None and resolve_defaults:
            value = base[r.field]
        out[r.field] = value
        if r.legacy_field:
            out[r.legacy_field] = value
    return out


def _locked_row(session: Session, project_id: str) -> models.Quota:
    row = session.scalars(select(models.Quota).where(models.Quota.project_id == project_id)
                          .with_for_update()).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(models.Quota(project_id=project_id))
    except IntegrityError:
        pass  # created concurrently
    return session.scalars(select(models.Quota).where(models.Quota.project_id == project_id)
                           .with_for_update()).one()


def check(session: Session, conf: cfg.ConfigOpts, project_id: str,
          wanted: dict[Any, int]) -> None:
    """Raise 403 when adding ``wanted`` objects (model -> count) would exceed a quota."""
    if not any(wanted.values()):
        return
    base = defaults(conf)
    fields = [BY_MODEL[m].field for m, n in wanted.items() if n]
    current = session.connection().execute(_QUOTA_ROW, {"project_id": project_id}).first()

    def limit_of(field: str) -> int:
        value = getattr(current, field) if current is not None else None
        return int(base[field] if value is None else value)

    if all(limit_of(f) == -1 for f in fields):
        return  # unlimited: nothing to count, no lock to take
    row = _locked_row(session, project_id)
    for model, extra in wanted.items():
        if not extra:
            continue
        res = BY_MODEL[model]
        limit = getattr(row, res.field)
        limit = base[res.field] if limit is None else limit
        if limit == -1:
            continue
        used = session.scalar(select(func.count()).select_from(model)
                              .where(model.project_id == project_id)) or 0
        if used + extra > limit:
            raise QuotaExceeded(f"Quota has been met for resources: {res.label} "
                                f"(limit {limit}, in use {used}, requested {extra}).")


def list_quotas(session: Session, conf: cfg.ConfigOpts,
                project_id: str | None = None) -> list[dict[str, Any]]:
    """The projects that have a quota row (only ``project_id``'s when given), by project."""
    stmt = select(models.Quota).order_by(models.Quota.project_id)
    if project_id:
        stmt = stmt.where(models.Quota.project_id == project_id)
    return [quota_view(r, conf, r.project_id) for r in session.scalars(stmt)]


def default_quota(conf: cfg.ConfigOpts) -> dict[str, Any]:
    """The quota of a project without a row (no project_id)."""
    body = quota_view(None, conf, "")
    del body["project_id"]
    return body


def show_quota(session: Session, conf: cfg.ConfigOpts, project_id: str) -> dict[str, Any]:
    return quota_view(session.get(models.Quota, project_id), conf, project_id)


def update_quota(session: Session, conf: cfg.ConfigOpts, project_id: str,
                 data: QuotaUpdate) -> dict[str, Any]:
    """Set the given limits (legacy names map to the current ones, which win when both are
    given), creating the project's row if needed."""
    values = data.model_dump(exclude_unset=True)
    for r in RESOURCES:
        if r.legacy_field and r.legacy_field in values:
            values.setdefault(r.field, values.pop(r.legacy_field))
    row = session.get(models.Quota, project_id)
    if row is None:
        row = models.Quota(project_id=project_id)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    return quota_view(row, conf, project_id)


def reset_quota(session: Session, project_id: str) -> None:
    """Back to the defaults: delete the project's row, if any."""
    row = session.get(models.Quota, project_id)
    if row is not None:
        session.delete(row)
