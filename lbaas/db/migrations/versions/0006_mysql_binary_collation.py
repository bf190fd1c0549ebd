"""strings compare exactly on MySQL/MariaDB: a binary collation

MySQL's default collations ignore case and trailing spaces: a token of project "PROJECT-A" saw
project-a's load balancers, ``?name=web`` found "WEB", an id in capitals found the object, and
tags that differ only in case collided on the tags key (a 500). Every table, and the database's
default for tables made later, become utf8mb4 with a binary collation, which compares as SQLite
and PostgreSQL do (NO PAD where the server has one: trailing spaces count). Other databases
are unchanged.

The downgrade gives back the server's default utf8mb4 collation; it fails if rows have come to
differ only in case where a unique key now tells them apart.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLES = ("agents", "availability_zone_profiles", "availability_zones", "flavor_profiles",
           "flavors", "health_monitors", "l7policies", "l7rules", "listener_statistics",
           "listeners", "load_balancers", "members", "networks", "pools", "ports", "quotas",
           "subnets", "tags", "tokens")


def _binary_collation(dialect: Any) -> str:
    if dialect.is_mariadb:
        return "utf8mb4_nopad_bin"
    if dialect.server_version_info >= (8, 0, 17):
        return "utf8mb4_0900_bin"  # NO PAD
    return "utf8mb4_bin"


def _convert(collation: str) -> None:
    # A column that a foreign key links to another cannot change collation alone (MariaDB
    # refuses even with FOREIGN_KEY_CHECKS = 0): the foreign keys are made again afterwards.
    inspector = sa.inspect(op.get_bind())
    fks = [(table, fk) for table in _TABLES for fk in inspector.get_foreign_keys(table)]
    for table, fk in fks:
        op.drop_constraint(str(fk["name"]), table, type_="foreignkey")
    op.execute(f"ALTER DATABASE CHARACTER SET utf8mb4 COLLATE {collation}")
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")
    for table, fk in fks:
        options = fk.get("options", {})
        op.create_foreign_key(fk["name"], table, fk["referred_table"],
                              fk["constrained_columns"], fk["referred_columns"],
                              ondelete=options.get("ondelete"),
                              onupdate=options.get("onupdate"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        _convert(_binary_collation(bind.dialect))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        default = bind.exec_driver_sql(
            "SELECT DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS "
            "WHERE CHARACTER_SET_NAME = 'utf8mb4'").scalar_one()
        _convert(str(default))
