"""Plans with limits and Stripe ids on organizations; members, plan_change_audit and processed Stripe events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
# Existing orgs were all on "starter"; these are its limits in cloudact/control_plane/plans.py at this revision.
STARTER_LIMITS = {
    "limit_pipeline_runs_daily": 6,
    "limit_pipeline_runs_monthly": 150,
    "limit_concurrent_runs": 1,
    "limit_seats": 5,
    "limit_providers": 3,
}


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("stripe_customer_id", sa.String(255)))
        batch.add_column(sa.Column("stripe_subscription_id", sa.String(255)))
        batch.add_column(sa.Column("stripe_price_id", sa.String(255)))
        for name, value in STARTER_LIMITS.items():
            batch.add_column(sa.Column(name, sa.Integer, nullable=False, server_default=str(value)))
        batch.add_column(
            sa.Column("plan_event_at", Timestamp, nullable=False, server_default="1970-01-01 00:00:00+00:00")
        )
        batch.add_column(sa.Column("updated_at", Timestamp))
        batch.create_unique_constraint("uq_organizations_stripe_customer_id", ["stripe_customer_id"])
    op.execute("update organizations set updated_at = created_at")
    with op.batch_alter_table("organizations") as batch:
        batch.alter_column("updated_at", existing_type=Timestamp, nullable=False)

    op.create_table(
        "organization_members",
        sa.Column(
            "org_slug", sa.String(50), sa.ForeignKey("organizations.org_slug", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "plan_change_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_slug", sa.String(50), nullable=False),
        sa.Column("old_plan", sa.String(30)),
        sa.Column("new_plan", sa.String(30), nullable=False),
        sa.Column("old_status", sa.String(20)),
        sa.Column("new_status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("stripe_event_id", sa.String(255)),
        sa.Column("stripe_event_type", sa.String(100)),
        sa.Column("event_at", Timestamp, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_index("ix_plan_change_audit_org_slug", "plan_change_audit", ["org_slug"])
    op.create_table(
        "stripe_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("org_slug", sa.String(50)),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_index("ix_plan_change_audit_org_slug", "plan_change_audit")
    op.drop_table("plan_change_audit")
    op.drop_table("organization_members")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_constraint("uq_organizations_stripe_customer_id", type_="unique")
        for name in ("updated_at", "plan_event_at", *STARTER_LIMITS, "stripe_price_id", "stripe_subscription_id"):
            batch.drop_column(name)
        batch.drop_column("stripe_customer_id")
