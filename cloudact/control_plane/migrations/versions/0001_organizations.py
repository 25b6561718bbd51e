"""The organizations table as the first release created it.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The first release created this table without migrations: adopt it when it is already there.
    if sa.inspect(op.get_bind()).has_table("organizations"):
        return
    op.create_table(
        "organizations",
        sa.Column("org_slug", sa.String(50), primary_key=True),
        sa.Column("company_name", sa.String(200), nullable=False),
        sa.Column("company_key", sa.String(50), nullable=False, unique=True),
        sa.Column("plan", sa.String(30), nullable=False, server_default="starter"),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("organizations")
