"""secrets: the built-in secret store (Barbican's secrets and containers)

A secret's payload is stored encrypted (a Fernet token; MEDIUMBLOB on MySQL, whose BLOB holds
64 KiB); a container names secrets (``secret_container_refs``, in the order they were given).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_PAYLOAD = sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("creator_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("secret_type", sa.String(80), nullable=False),
        sa.Column("algorithm", sa.String(255), nullable=True),
        sa.Column("bit_length", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(255), nullable=True),
        sa.Column("expiration", _TIMESTAMP, nullable=True),
        sa.Column("payload_content_type", sa.String(255), nullable=True),
        sa.Column("encrypted_payload", _PAYLOAD, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
    )
    op.create_index("ix_secrets_project_id", "secrets", ["project_id"])
    op.create_index("ix_secrets_name", "secrets", ["name"])
    op.create_index("ix_secrets_created_at", "secrets", ["created_at"])
    op.create_table(
        "secret_containers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("creator_id", sa.String(255), nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
    )
    op.create_index("ix_secret_containers_project_id", "secret_containers", ["project_id"])
    op.create_index("ix_secret_containers_created_at", "secret_containers", ["created_at"])
    op.create_table(
        "secret_container_refs",
        sa.Column("container_id", sa.String(36), sa.ForeignKey("secret_containers.id"),
                  primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("secret_id", sa.String(36), sa.ForeignKey("secrets.id"), nullable=False),
    )
    op.create_index("ix_secret_container_refs_secret_id", "secret_container_refs",
                    ["secret_id"])


def downgrade() -> None:
    # Each table's indexes go with it (MySQL refuses to drop one a foreign key needs).
    op.drop_table("secret_container_refs")
    op.drop_table("secret_containers")
    op.drop_table("secrets")
