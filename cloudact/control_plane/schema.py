"""The control-plane tables as SQLAlchemy Core objects, matching the head of the migrations in ``migrations/``."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
Timestamp = sa.DateTime(timezone=True)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("org_slug", sa.String(50), primary_key=True),
    sa.Column("company_name", sa.String(200), nullable=False),
    sa.Column("company_key", sa.String(200), nullable=False, unique=True),
    sa.Column("plan", sa.String(30), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("stripe_customer_id", sa.String(255), unique=True),
    sa.Column("stripe_subscription_id", sa.String(255)),
    sa.Column("stripe_price_id", sa.String(255)),
    sa.Column("limit_pipeline_runs_daily", sa.Integer, nullable=False),
    sa.Column("limit_pipeline_runs_monthly", sa.Integer, nullable=False),
    sa.Column("limit_concurrent_runs", sa.Integer, nullable=False),
    sa.Column("limit_seats", sa.Integer, nullable=False),
    sa.Column("limit_providers", sa.Integer, nullable=False),
    sa.Column("plan_event_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

organization_members = sa.Table(
    "organization_members",
    metadata,
    sa.Column("org_slug", sa.String(50), sa.ForeignKey("organizations.org_slug", ondelete="CASCADE"), primary_key=True),
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

plan_change_audit = sa.Table(
    "plan_change_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_slug", sa.String(50), nullable=False, index=True),
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

stripe_events = sa.Table(
    "stripe_events",
    metadata,
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("org_slug", sa.String(50)),
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
)

MIGRATION_HEAD = "0004"
