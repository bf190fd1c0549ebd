"""Per-project quotas, one row per project; NULL means "use the default", -1 unlimited.

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
