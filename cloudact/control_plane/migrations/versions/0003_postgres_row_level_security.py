"""Postgres only: Supabase's API roles and row-level security, so a tenant's JWT reads only its own org.

Supabase already has the roles ``anon``, ``authenticated`` and ``service_role`` (the last bypasses RLS); a plain
Postgres gets them here. The policies read the ``org_slug`` claim of the request's JWT, which PostgREST exposes as
``request.jwt.claims``. SQLite has no roles or RLS: there this revision does nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("organizations", "organization_members", "plan_change_audit", "stripe_events")
# Tables a signed-in member may read, filtered to the org named in the JWT.
TENANT_READABLE = ("organizations", "organization_members", "plan_change_audit")
JWT_ORG = "(current_setting('request.jwt.claims', true)::json ->> 'org_slug')"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        do $$
        begin
          if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin; end if;
          if not exists (select from pg_roles where rolname = 'authenticated') then
            create role authenticated nologin;
          end if;
          if not exists (select from pg_roles where rolname = 'service_role') then
            create role service_role nologin bypassrls;
          end if;
        end
        $$
        """
    )
    op.execute("grant usage on schema public to anon, authenticated, service_role")
    for table in TABLES:
        op.execute(f"alter table {table} enable row level security")
        op.execute(f"revoke all on {table} from anon, authenticated")
        op.execute(f"grant select, insert, update, delete on {table} to service_role")
    op.execute("grant usage, select on all sequences in schema public to service_role")
    for table in TENANT_READABLE:
        op.execute(f"grant select on {table} to authenticated")
        op.execute(
            f"create policy {table}_tenant_read on {table} for select to authenticated using (org_slug = {JWT_ORG})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_READABLE:
        op.execute(f"drop policy if exists {table}_tenant_read on {table}")
    for table in TABLES:
        op.execute(f"alter table {table} disable row level security")
