"""Core-level writes for the hot paths, where the ORM unit of work would cost more than the rest
of the request: inserting new objects without adding them to a session, and inserting a row
unless a unique key is already taken (without aborting the transaction, as a failed INSERT does
on PostgreSQL) together with the rows that depend on it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, exc, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

_Shape = tuple[tuple[Table, tuple[str, ...]], ...]
"""Which columns of which table each row of a linked insert sets."""


def _column_values(obj: Any) -> dict[str, Any]:
    """The column values set on a transient ORM object (unset columns get their defaults)."""
    table = obj.__table__
    state = inspect(obj).dict
    return {c.key: state[c.key] for c in table.columns if c.key in state}


def insert_objects(conn: Connection, objects: Sequence[Any]) -> None:
    """INSERT transient ORM objects' rows, without adding the objects to a session."""
    for obj in objects:
        conn.execute(insert(obj.__table__), _column_values(obj))


def _insert_unless_taken(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT ``values`` unless a row with one of the same unique keys exists; return whether
    the row was inserted. A concurrent insert of the same key is waited for, not overwritten."""
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        # RETURNING, not rowcount: SQLAlchemy does not report rowcount for an INSERT.
        key = next(iter(table.primary_key.columns))
        module: Any = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(table).on_conflict_do_nothing().returning(key)
        return conn.execute(stmt, values).first() is not None
    # MySQL and MariaDB, the other supported databases, have no DO NOTHING. ON DUPLICATE KEY
    # UPDATE writes to the row that holds the key (it gave another load balancer's port this
    # port's id when their address was the key taken), and counts a no-op update as a row
    # inserted (SQLAlchemy connects with CLIENT_FOUND_ROWS). INSERT IGNORE would also let a
    # broken foreign key pass. A failed INSERT undoes only itself there, not the transaction.
    try:
        conn.execute(insert(table), values)
    except exc.IntegrityError as error:
        if _mysql_error_code(error) != _ER_DUP_ENTRY:
            raise
        return False
    return True


_ER_DUP_ENTRY = 1062
"""MySQL's error code for a unique key that is taken."""


def _mysql_error_code(error: exc.DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def insert_linked(conn: Connection, head: Any, dependents: Sequence[Any] = ()) -> bool:
    """INSERT transient ORM object ``head`` unless one of its unique keys is taken and, only if
    it was inserted, the ``dependents``; return whether it was.

    On PostgreSQL this is one statement (data-modifying CTEs that insert the dependents only
    for a row the first one returned): one round trip instead of one per row. Elsewhere it is
    one statement per row, in the caller's transaction.
    """
    if conn.dialect.name != "postgresql":
        if not _insert_unless_taken(conn, head.__table__, _column_values(head)):
            return False
        insert_objects(conn, dependents)
        return True
    shape: list[tuple[Table, tuple[str, ...]]] = []
    params: dict[str, Any] = {}
    for i, obj in enumerate((head, *dependents)):
        values = _column_values(obj)
        shape.append((obj.__table__, tuple(values)))
        params.update({f"r{i}_{key}": value for key, value in values.items()})
    return conn.execute(_linked_statement(tuple(shape)), params).first() is not None


@functools.lru_cache(maxsize=64)
def _linked_statement(shape: _Shape) -> Select[Any]:
    (table, keys), *rest = shape
    key = next(iter(table.primary_key.columns))
    head = (postgresql.insert(table)
            .values({k: bindparam(f"r0_{k}", type_=table.c[k].type) for k in keys})
            .on_conflict_do_nothing().returning(key).cte("head"))
    stmt = select(head.c[key.name])
    for i, (dep_table, dep_keys) in enumerate(rest, start=1):
        row = select(*[bindparam(f"r{i}_{k}", type_=dep_table.c[k].type) for k in dep_keys]
                     ).select_from(head)
        stmt = stmt.add_cte(insert(dep_table).from_select(list(dep_keys), row).cte(f"d{i}"))
    return stmt
