"""Widen organizations.company_key to the company name's 200 characters (Postgres enforces varchar lengths).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.alter_column("company_key", existing_type=sa.String(50), type_=sa.String(200), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.alter_column("company_key", existing_type=sa.String(200), type_=sa.String(50), existing_nullable=False)
