"""indexes on the pool references of listeners and L7 policies

Loading a pool loads the listeners that use it as default pool and the L7 policies that redirect
to it; without these indexes each load scanned both tables (stats reports of an agent holding a
thousand load balancers spent most of their time there).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

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
    with op.batch_alter_table("l7policies") as batch:
        batch.drop_index(batch.f("ix_l7policies_redirect_pool_id"))
    with op.batch_alter_table("listeners") as batch:
        batch.drop_index(batch.f("ix_listeners_default_pool_id"))
