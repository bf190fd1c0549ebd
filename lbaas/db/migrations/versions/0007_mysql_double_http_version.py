"""health monitors' http_version is a DOUBLE on MySQL/MariaDB

MySQL's FLOAT has 4 bytes: 1.1 stored there equals no 1.1 in a query, so
``?http_version=1.1`` found nothing. DOUBLE is what SQLite and PostgreSQL store. The values
stored as FLOAT are rounded back to the one decimal HTTP versions have. Other databases are
unchanged.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "mysql":
        op.execute("ALTER TABLE health_monitors MODIFY http_version DOUBLE NULL")
        op.execute("UPDATE health_monitors SET http_version = ROUND(http_version, 1)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "mysql":
        op.execute("ALTER TABLE health_monitors MODIFY http_version FLOAT NULL")
