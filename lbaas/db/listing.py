"""Generic list queries: filters, tag filters, multi-key sort and keyset pagination.

Used by every collection GET. ``ListQuery`` is built (and validated) from query parameters by
``lbaas.api.listing``; ``run_list`` turns it into one SELECT confined to the caller's project;
``list_items`` applies it, with the same order and markers, to objects computed in Python.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.base import ExecutableOption

from lbaas.db.models import Tag

# Query attribute names that differ from column names.
ALIASES = {"tenant_id": "project_id", "loadbalancer_id": "load_balancer_id"}


class ListError(ValueError):
    """A list parameter that cannot be honoured (-> 400)."""


@dataclass
class ListQuery:
    filters: dict[str, Any] = field(default_factory=dict)
    tags_all: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags_all: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    fields: list[str] | None = None


SCALAR_TYPES = (String, Integer, Boolean, Float, DateTime)


@functools.cache
def filterable_columns(model: type) -> dict[str, InstrumentedAttribute[Any]]:
    """Columns a list may be filtered or sorted on (scalar columns; JSON ones excluded).
    Computed once per model: every list request asks."""
    return {col.key: getattr(model, col.key)
            for col in model.__table__.columns  # type: ignore[attr-defined]
            if isinstance(col.type, SCALAR_TYPES)}


def coerce(column: InstrumentedAttribute[Any], raw: str) -> Any:
    """Convert a query-string value to the column's type, or raise ListError."""
    return coerce_value(column.property.columns[0].type.python_type, raw)


def coerce_value(py: type, raw: str) -> Any:
    """Convert a query-string value to the Python type ``py``, or raise ListError."""
    if py is bool:
        low = raw.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ListError(f"'{raw}' is not a boolean")
    if py is int:
        try:
            return int(raw)
        except ValueError:
            raise ListError(f"'{raw}' is not an integer") from None
    if py is float:
        try:
            return float(raw)
        except ValueError:
            raise ListError(f"'{raw}' is not a number") from None
    if py is dt.datetime:
        try:
            return dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ListError(f"'{raw}' is not a timestamp") from None
    return raw


def _tag_exists(model: Any, tag: str) -> ColumnElement[bool]:
    return exists().where(Tag.resource_id == model.id, Tag.tag == tag)


def _tag_conditions(model: Any, q: ListQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    conds += [_tag_exists(model, t) for t in q.tags_all]
    if q.tags_any:
        conds.append(or_(*[_tag_exists(model, t) for t in q.tags_any]))
    if q.not_tags_all:
        conds.append(~and_(*[_tag_exists(model, t) for t in q.not_tags_all]))
    if q.not_tags_any:
        conds.append(~or_(*[_tag_exists(model, t) for t in q.not_tags_any]))
    return conds


def _keyset_after(model: Any, keys: list[tuple[str, str]], marker_row: Any
                  ) -> ColumnElement[bool]:
    """Rows strictly after ``marker_row`` in the order given by ``keys`` (the last is 'id')."""
    clauses = []
    for i, (name, direction) in enumerate(keys):
        col = getattr(model, name)
        value = getattr(marker_row, name)
        equal_prefix = [getattr(model, k) == getattr(marker_row, k) for k, _ in keys[:i]]
        if value is None:
            # NULLs sort first ascending (SQLite/our convention): nothing is "before" NULL asc.
            step = col.is_not(None) if direction == "asc" else false()
        else:
            step = col > value if direction == "asc" else col < value
            if direction == "desc":
                step = or_(step, col.is_(None))
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


DEFAULT_SORT = (("created_at", "asc"),)
"""The order of a list that asks for none: creation order (then the key)."""


def _order(q: ListQuery, key: str, default_sort: Sequence[tuple[str, str]]
           ) -> list[tuple[str, str]]:
    """The (attribute, direction) pairs a page is read in: those asked for (else
    ``default_sort``), then ``key``, all reversed for ``page_reverse``."""
    keys = ([(k, d) for k, d in q.sort if k != key]
            or [(k, d) for k, d in default_sort if k != key])
    keys.append((key, q.sort[-1][1] if q.sort and q.sort[-1][0] == key
                 else keys[0][1] if keys else "asc"))
    if q.page_reverse:
        keys = [(k, "desc" if d == "asc" else "asc") for k, d in keys]
    return keys


def run_list(session: Session, model: Any, q: ListQuery, scope_project: str | None,
             where: Sequence[ColumnElement[bool]] = (),
             options: Sequence[ExecutableOption] = (), plain: bool = False,
             key: str = "id", default_sort: Sequence[tuple[str, str]] = DEFAULT_SORT
             ) -> tuple[list[Any], bool]:
    """Objects of ``model`` matching ``q``; also whether more follow this page.

    ``plain`` returns rows of the table's columns instead of ORM objects (much cheaper for
    long lists; the caller fetches related data itself). ``key`` is the unique column that
    ends every order and that markers name (``name`` for availability zones);
    ``default_sort`` the order when ``q`` asks for none."""
    conds: list[ColumnElement[bool]] = list(where)
    if scope_project is not None:
        conds.append(model.project_id == scope_project)
    cols = filterable_columns(model)
    for name, value in q.filters.items():
        conds.append(cols[name] == value)
    if not hasattr(model, "tag_rows") and (q.tags_all or q.tags_any or q.not_tags_all
                                           or q.not_tags_any):
        raise ListError("these objects have no tags")
    conds += _tag_conditions(model, q)

    keys = _order(q, key, default_sort)

    if q.marker is not None:
        marker_q = select(model).where(getattr(model, key) == q.marker)
        if scope_project is not None:
            marker_q = marker_q.where(model.project_id == scope_project)
        marker_row = session.scalars(marker_q).first()
        if marker_row is None:
            raise ListError(f"marker {q.marker} could not be found")
        conds.append(_keyset_after(model, keys, marker_row))

    order = []
    for name, direction in keys:
        col = getattr(model, name)
        # NULLs first ascending, last descending, spelled so MySQL understands it too.
        if col.property.columns[0].nullable:
            order.append(col.is_(None).desc() if direction == "asc" else col.is_(None).asc())
        order.append(col.asc() if direction == "asc" else col.desc())
    limit = None if q.limit is None else q.limit + 1
    rows: list[Any]
    if plain:
        table_stmt = select(*model.__table__.columns).where(*conds).order_by(*order).limit(limit)
        rows = [*session.connection().execute(table_stmt)]
    else:
        orm_stmt = select(model).where(*conds).order_by(*order).options(*options).limit(limit)
        rows = [*session.scalars(orm_stmt).unique()]
    more = q.limit is not None and len(rows) > q.limit
    if more:
        rows = rows[: q.limit]
    if q.page_reverse:
        rows.reverse()
    return rows, more


def _compare(a: Mapping[str, Any], b: Mapping[str, Any], keys: Sequence[tuple[str, str]]
             ) -> int:
    """-1, 0 or 1: ``a`` before, with or after ``b`` in the order of ``keys`` (NULLs first
    ascending, last descending, as :func:`run_list` orders them)."""
    for name, direction in keys:
        x, y = a.get(name), b.get(name)
        if x == y:
            continue
        before = x is None or (y is not None and x < y)
        return (-1 if before else 1) * (1 if direction == "asc" else -1)
    return 0


def list_items(items: Iterable[dict[str, Any]], q: ListQuery,
               find_marker: Callable[[str], Mapping[str, Any] | None],
               key: str = "id", default_sort: Sequence[tuple[str, str]] = DEFAULT_SORT
               ) -> tuple[list[dict[str, Any]], bool]:
    """:func:`run_list` over objects computed in Python (a collection that is no table):
    ``items`` (views) matching ``q``'s equality filters, in its order, the page after its
    marker; also whether more follow. The marker is looked up among ``items``, else by
    ``find_marker`` (it may be an object the filters leave out, as with :func:`run_list`)."""
    if q.tags_all or q.tags_any or q.not_tags_all or q.not_tags_any:
        raise ListError("these objects have no tags")
    matching = [item for item in items
                if all(item.get(name) == value for name, value in q.filters.items())]
    keys = _order(q, key, default_sort)
    def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
        return _compare(a, b, keys)

    rows = sorted(matching, key=functools.cmp_to_key(compare))
    if q.marker is not None:
        marker: Mapping[str, Any] | None = next(
            (item for item in matching if item.get(key) == q.marker), None)
        if marker is None:
            marker = find_marker(q.marker)
        if marker is None:
            raise ListError(f"marker {q.marker} could not be found")
        rows = [row for row in rows if _compare(row, marker, keys) > 0]
    more = q.limit is not None and len(rows) > q.limit
    if more:
        rows = rows[: q.limit]
    if q.page_reverse:
        rows.reverse()
    return rows, more


def count(session: Session, model: Any, *conds: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*conds)) or 0)
