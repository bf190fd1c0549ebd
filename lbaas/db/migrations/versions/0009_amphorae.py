"""amphorae: the two copies of an ACTIVE_STANDBY load balancer

One row per copy: its agent, position (0 or 1), VRRP address and priority, the role and status
its agent reports, and the revision it last applied.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "amphorae",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("load_balancer_id", sa.String(36), sa.ForeignKey("load_balancers.id"),
                  nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("vrrp_ip", sa.String(64), nullable=True),
        sa.Column("vrrp_port_id", sa.String(36), nullable=True),
        sa.Column("vrrp_priority", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=True),
        sa.UniqueConstraint("load_balancer_id", "position"),
    )
    op.create_index("ix_amphorae_load_balancer_id", "amphorae", ["load_balancer_id"])
    op.create_index("ix_amphorae_agent_id", "amphorae", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_amphorae_agent_id", "amphorae")
    op.drop_index("ix_amphorae_load_balancer_id", "amphorae")
    op.drop_table("amphorae")
