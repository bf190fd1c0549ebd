"""pools.drain_timeout and pools.slow_start: seconds a removed member keeps its connections, and
seconds a new member ramps up over (the API's ``lbaas:drain_timeout`` and ``lbaas:slow_start``,
0 by default)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pools") as batch:
        batch.add_column(sa.Column("drain_timeout", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("slow_start", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("pools") as batch:
        batch.drop_column("slow_start")
        batch.drop_column("drain_timeout")
