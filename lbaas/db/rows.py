"""Core-level writes for the hot paths, where the ORM unit of work would cost more than the rest
of the request: inserting a new object as one statement, and inserting a row unless a unique key
is already taken (without aborting the transaction, as a failed INSERT does on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert, inspect
from sqlalchemy.dialects import mysql, postgresql, sqlite


def column_values(obj: Any) -> dict[str, Any]:
    """The column values set on a transient ORM object (unset columns get their defaults)."""
    table = obj.__table__
    state = inspect(obj).dict
    return {c.key: state[c.key] for c in table.columns if c.key in state}


def insert_object(conn: Connection, obj: Any) -> None:
    """INSERT a transient ORM object's row without adding the object to a session."""
    conn.execute(insert(obj.__table__), column_values(obj))


def insert_unless_taken(conn: Connection, table: Table, values: dict[str, Any]
                        ) -> bool:
    """INSERT ``values`` unless a row with one of the same unique keys exists; return whether
    the row was inserted. A concurrent insert of the same key is waited for, not overwritten."""
    dialect = conn.dialect.name
    key = next(iter(table.primary_key.columns))
    if dialect in ("postgresql", "sqlite"):
        # RETURNING, not rowcount: SQLAlchemy does not report rowcount for an INSERT.
        module: Any = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(table).on_conflict_do_nothing().returning(key)
        return conn.execute(stmt, values).first() is not None
    if dialect in ("mysql", "mariadb"):
        # A no-op update: MySQL reports 0 affected rows when the key existed.
        upsert = mysql.insert(table)
        upsert = upsert.on_duplicate_key_update({key.name: upsert.inserted[key.name]})
        return bool(conn.execute(upsert, values).rowcount == 1)
    raise NotImplementedError(f"insert_unless_taken on {dialect}")  # pragma: no cover
