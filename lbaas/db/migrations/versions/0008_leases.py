"""leases: one server at a time runs housekeeping

Several ``lbaas server`` processes share the database; each runs housekeeping, but only the
holder of the ``housekeeping`` lease acts, and another takes over when the holder stops renewing.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                                           "mariadb"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
