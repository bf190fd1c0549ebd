"""indexes on the pool references of listeners and L7 policies

Loading a pool loads the listeners that use it as default pool and the L7 policies that redirect
to it; without these indexes each load scanned both tables (stats reports of an agent holding a
thousand load balancers spent most of their time there).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listeners") as batch:
        batch.create_index(batch.f("ix_listeners_default_pool_id"), ["default_pool_id"])
    with op.batch_alter_table("l7policies") as batch:
        batch.create_index(batch.f("ix_l7policies_redirect_pool_id"), ["redirect_pool_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "mysql":
        _downgrade_mysql()
        return
    with op.batch_alter_table("l7policies") as batch:
        batch.drop_index(batch.f("ix_l7policies_redirect_pool_id"))
    with op.batch_alter_table("listeners") as batch:
        batch.drop_index(batch.f("ix_listeners_default_pool_id"))


def _downgrade_mysql() -> None:
    """MySQL refuses to drop an index a foreign key needs. It had made one of its own for each
    of these foreign keys, and dropped it when these indexes were created: the foreign keys
    are made again without them, which gives them their own index back."""
    inspector = sa.inspect(op.get_bind())
    for table, column in (("l7policies", "redirect_pool_id"), ("listeners", "default_pool_id")):
        fks = [fk for fk in inspector.get_foreign_keys(table)
               if fk["constrained_columns"] == [column]]
        for fk in fks:
            op.drop_constraint(str(fk["name"]), table, type_="foreignkey")
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
        for fk in fks:
            op.create_foreign_key(fk["name"], table, fk["referred_table"], [column],
                                  fk["referred_columns"])
