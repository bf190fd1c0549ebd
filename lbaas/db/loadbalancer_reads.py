"""The load balancer aggregate's read queries, in Core for the hot paths of list and show.

A load balancer's view needs its row, the ids of its listeners and pools and its tags. List reads
them for a whole page in one round trip (:func:`related_of`); show reads one load balancer with
them in one query (:func:`one_with_related`). Called by :mod:`lbaas.services.views`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    DateTime,
    String,
    any_,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from lbaas.db import models

COLUMNS = tuple(column.key for column in models.LoadBalancer.__table__.columns)
"""The load balancer table's columns, in the order its plain rows hold them."""


class Related:
    """Listener ids, pool ids (each in creation order) and tags (sorted), per load balancer."""

    def __init__(self) -> None:
        self._found: dict[str, dict[str, list[tuple[Any, str]]]] = {
            "listener": {}, "pool": {}, "tag": {}}

    def add(self, kind: str, owner: str, value: str, created: Any) -> None:
        self._found[kind].setdefault(owner, []).append((created, value))

    def ids(self, kind: str, owner: str) -> list[str]:
        """``kind`` (listener, pool, tag) values of load balancer ``owner``."""
        items = self._found[kind].get(owner, ())
        key = (lambda item: item[1]) if kind == "tag" else None
        return [value for _, value in sorted(items, key=key)]


def _id_in(column: Any, dialect: str) -> Any:
    """``column IN :ids``. On PostgreSQL ``= ANY(:ids)`` with one array parameter: an IN list
    of hundreds of placeholders is too long for psycopg's query cache and is parsed again on
    every execution."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(String())))
    return column.in_(bindparam("ids", expanding=True))


def _related_union(owner_is: Any) -> Any:
    """(kind, owner, value, created) of the listeners, pools and tags whose load balancer
    satisfies ``owner_is(column)``."""
    listener, pool, tag = (models.Listener.__table__, models.Pool.__table__,
                           models.Tag.__table__)
    no_time = cast(null(), DateTime())
    return union_all(
        select(literal_column("'listener'").label("kind"),
               listener.c.load_balancer_id.label("owner"), listener.c.id.label("value"),
               listener.c.created_at.label("created"))
        .where(owner_is(listener.c.load_balancer_id)),
        select(literal_column("'pool'"), pool.c.load_balancer_id, pool.c.id, pool.c.created_at)
        .where(owner_is(pool.c.load_balancer_id)),
        select(literal_column("'tag'"), tag.c.resource_id, tag.c.tag, no_time)
        .where(owner_is(tag.c.resource_id)),
    )


@functools.cache
def _related_statement(dialect: str) -> Any:
    return _related_union(lambda column: _id_in(column, dialect))


@functools.cache
def _show_statement(scoped: bool) -> Any:
    """One load balancer's columns, then (kind, value, created) of one related object per row
    (NULLs when it has none): the whole show in one round trip."""
    table = models.LoadBalancer.__table__
    related = _related_union(lambda column: column == bindparam("id")).subquery()
    stmt = (select(*table.columns, related.c.kind, related.c.value, related.c.created)
            .select_from(table.outerjoin(related, related.c.owner == table.c.id))
            .where(table.c.id == bindparam("id")))
    if scoped:
        stmt = stmt.where(table.c.project_id == bindparam("project_id"))
    return stmt


def related_of(session: Session, ids: Sequence[str]) -> Related:
    """The related ids and tags of load balancers ``ids``, from one round trip."""
    found = Related()
    if ids:
        conn = session.connection()
        for kind, owner, value, created in conn.execute(
                _related_statement(conn.dialect.name), {"ids": list(ids)}):
            found.add(kind, owner, value, created)
    return found


def one_with_related(session: Session, lb_id: str, scope_project: str | None
                     ) -> tuple[Sequence[Any], Related] | None:
    """The plain row of load balancer ``lb_id`` and its related ids, from one query; None if it
    does not exist or, when ``scope_project`` is given, belongs to another project."""
    params = {"id": lb_id}
    if scope_project is not None:
        params["project_id"] = scope_project
    rows = session.connection().execute(_show_statement(scope_project is not None),
                                        params).all()
    if not rows:
        return None
    width = len(COLUMNS)
    found = Related()
    for row in rows:
        kind, value, created = row[width:]
        if kind is not None:
            found.add(kind, lb_id, value, created)
    return rows[0][:width], found
