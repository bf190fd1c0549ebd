"""timestamps keep their microseconds on MySQL/MariaDB

A plain DATETIME holds whole seconds on MySQL: objects created within one second listed in the
order of their random ids instead of creation order (the default list order, and "the oldest
subnet" of a network). DATETIME(6) holds what SQLite and PostgreSQL already held; other
databases are unchanged.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COMMON = (("created_at", "NOT NULL"), ("updated_at", "NULL"))
_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "load_balancers": (*_COMMON, ("status_changed_at", "NOT NULL")),
    **{table: _COMMON for table in ("listeners", "pools", "health_monitors", "members",
                                    "l7policies", "l7rules")},
    "tokens": (("created_at", "NOT NULL"), ("expires_at", "NULL")),
    "networks": (("created_at", "NOT NULL"),),
    "subnets": (("created_at", "NOT NULL"),),
    "ports": (("created_at", "NOT NULL"),),
    "agents": (("created_at", "NOT NULL"), ("started_at", "NOT NULL"),
               ("heartbeat_timestamp", "NOT NULL")),
}
"""Every DATETIME column, with its nullability (MODIFY restates it)."""


def _set_type(sql_type: str) -> None:
    if op.get_bind().dialect.name != "mysql":
        return
    for table, columns in _COLUMNS.items():
        # One ALTER per table: each rebuilds the table.
        modify = ", ".join(f"MODIFY {name} {sql_type} {null}" for name, null in columns)
        op.execute(f"ALTER TABLE {table} {modify}")


def upgrade() -> None:
    _set_type("DATETIME(6)")


def downgrade() -> None:
    _set_type("DATETIME")
