"""availability zones and their profiles; the zone of each agent

Octavia's availability zone API: a profile holds what a zone means to one provider, a zone names
a profile. Load balancers already stored the zone's name; an index serves the "is this zone in
use" check. Agents report the zone they run in (neutron's ``[agent] availability_zone``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "availability_zone_profiles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("provider_name", sa.String(255), nullable=False),
        sa.Column("availability_zone_data", sa.String(4096), nullable=False),
    )
    op.create_table(
        "availability_zones",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("availability_zone_profile_id", sa.String(36),
                  sa.ForeignKey("availability_zone_profiles.id"), nullable=False),
    )
    op.create_index(op.f("ix_availability_zones_availability_zone_profile_id"),
                    "availability_zones", ["availability_zone_profile_id"])
    with op.batch_alter_table("load_balancers") as batch:
        batch.create_index(batch.f("ix_load_balancers_availability_zone"), ["availability_zone"])
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("availability_zone", sa.String(255), nullable=False,
                                   server_default="nova"))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("availability_zone")
    with op.batch_alter_table("load_balancers") as batch:
        batch.drop_index(batch.f("ix_load_balancers_availability_zone"))
    # The zone table's index goes with it: MySQL refuses to drop it alone, as the foreign
    # key to the profiles needs it.
    op.drop_table("availability_zones")
    op.drop_table("availability_zone_profiles")
