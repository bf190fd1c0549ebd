"""load balancer revision counter; raw counters of the last stats report

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("load_balancers") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("listener_statistics") as batch:
        batch.add_column(sa.Column("reported", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listener_statistics") as batch:
        batch.drop_column("reported")
    with op.batch_alter_table("load_balancers") as batch:
        batch.drop_column("revision")
