"""The control plane over SQLAlchemy Core: a SQLite file (embedded default) or Postgres (e.g. Supabase's own)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from cloudact.control_plane import (
    Member,
    MemberExistsError,
    MemberNotFoundError,
    Organization,
    OrgExistsError,
    OrgNotFoundError,
    PlanChange,
    SchemaNotReadyError,
    new_org_row,
    plan_change_values,
    utc,
)
from cloudact.control_plane.schema import (
    MIGRATION_HEAD,
    organization_members,
    organizations,
    plan_change_audit,
    stripe_events,
)
from cloudact.tenancy import validate_slug


class SqlControlPlane:
    """Control plane on SQLite or Postgres; every write is one transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite"):
            # Many API threads share the file; wait for the writer instead of failing with "database is locked".
            connect_args = {"timeout": 30, "check_same_thread": False}
        self.engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)

    def check_schema(self) -> None:
        """Fail clearly when the migrations have not been applied.

        Raises:
            SchemaNotReadyError: If the schema is missing or behind this release.
        """
        try:
            with self.engine.connect() as con:
                version = con.execute(sa.text("select version_num from alembic_version")).scalar()
        except (OperationalError, ProgrammingError):
            version = None
        if version != MIGRATION_HEAD:
            raise SchemaNotReadyError(
                f"control plane schema is at {version or 'nothing'}, this release needs {MIGRATION_HEAD}: "
                "run `cloudact migrate`"
            )

    def create_org(self, org_slug: str, company_name: str, company_key: str, plan: str) -> Organization:
        """Insert a new org on ``plan`` with that plan's limits.

        Raises:
            OrgExistsError: If the company (its normalised name) or the slug is already onboarded.
        """
        row = new_org_row(org_slug, company_name, company_key, plan)
        try:
            with self.engine.begin() as con:
                con.execute(organizations.insert().values(**row))
        except IntegrityError:
            existing = self.find_by_company_key(company_key)
            raise OrgExistsError(
                f"company {company_name!r} is already onboarded as {existing.org_slug if existing else org_slug}"
            ) from None
        return _org(row)

    def delete_org(self, org_slug: str) -> None:
        """Remove an org with its members and audit rows (used to undo a failed onboarding)."""
        slug = validate_slug(org_slug)
        with self.engine.begin() as con:
            for table in (organization_members, plan_change_audit, organizations):
                con.execute(table.delete().where(table.c.org_slug == slug))

    def get_org(self, org_slug: str) -> Organization:
        """The org with this slug.

        Raises:
            OrgNotFoundError: If there is none.
        """
        org = self._one(organizations.c.org_slug == validate_slug(org_slug))
        if org is None:
            raise OrgNotFoundError(f"no org {org_slug!r}")
        return org

    def find_by_company_key(self, company_key: str) -> Organization | None:
        """The org of a normalised company name, if onboarded."""
        return self._one(organizations.c.company_key == company_key)

    def find_by_stripe_customer(self, customer_id: str) -> Organization | None:
        """The org linked to a Stripe customer, if any."""
        return self._one(organizations.c.stripe_customer_id == customer_id)

    def list_orgs(self, *, status: str | None = None, limit: int = 1000, offset: int = 0) -> list[Organization]:
        """Orgs, oldest first, optionally of one status."""
        query = sa.select(organizations).order_by(organizations.c.created_at, organizations.c.org_slug)
        if status is not None:
            query = query.where(organizations.c.status == status)
        with self.engine.connect() as con:
            rows = con.execute(query.limit(limit).offset(offset)).all()
        return [_org(row._mapping) for row in rows]

    def link_stripe_customer(self, org_slug: str, customer_id: str, subscription_id: str | None) -> Organization:
        """Attach the Stripe customer (and subscription) that pays for the org."""
        values: dict[str, Any] = {"stripe_customer_id": customer_id, "updated_at": datetime.now(UTC)}
        if subscription_id:
            values["stripe_subscription_id"] = subscription_id
        with self.engine.begin() as con:
            result = con.execute(
                organizations.update().where(organizations.c.org_slug == validate_slug(org_slug)).values(**values)
            )
        if result.rowcount == 0:
            raise OrgNotFoundError(f"no org {org_slug!r}")
        return self.get_org(org_slug)

    def apply_plan_change(
        self,
        org_slug: str,
        *,
        plan: str,
        status: str,
        event_at: datetime,
        price_id: str | None = None,
        subscription_id: str | None = None,
    ) -> Organization | None:
        """Move the org to ``plan``/``status`` unless a newer change was already applied.

        One conditional UPDATE (``plan_event_at <= event_at``) makes this safe against out-of-order and concurrent
        events without a lock. Stripe times are whole seconds: of two events in the same second, the one processed
        last wins (a replay of the same event is caught before, by its id).

        Returns:
            The updated org, or ``None`` if the change is older than the org's last applied one.
        """
        event_at = utc(event_at)  # SQLite compares the stored text: keep every value in UTC
        values = plan_change_values(plan, status, event_at, price_id, subscription_id)
        slug = validate_slug(org_slug)
        with self.engine.begin() as con:
            result = con.execute(
                organizations.update()
                .where(organizations.c.org_slug == slug, organizations.c.plan_event_at <= event_at)
                .values(**values)
            )
        return self.get_org(slug) if result.rowcount else None

    def add_plan_change(self, change: PlanChange) -> None:
        """Append a row to ``plan_change_audit``."""
        with self.engine.begin() as con:
            con.execute(plan_change_audit.insert().values(**_as_row(change)))

    def list_plan_changes(self, org_slug: str) -> list[PlanChange]:
        """Every audit row of an org, oldest first."""
        query = (
            sa.select(*[plan_change_audit.c[f.name] for f in fields(PlanChange)])
            .where(plan_change_audit.c.org_slug == validate_slug(org_slug))
            .order_by(plan_change_audit.c.id)
        )
        with self.engine.connect() as con:
            return [_plan_change(row._mapping) for row in con.execute(query)]

    def has_stripe_event(self, event_id: str) -> bool:
        """Whether this Stripe event id was already processed."""
        with self.engine.connect() as con:
            found = con.execute(sa.select(stripe_events.c.event_id).where(stripe_events.c.event_id == event_id))
            return found.first() is not None

    def record_stripe_event(self, event_id: str, event_type: str, org_slug: str | None, outcome: str) -> bool:
        """Remember a processed Stripe event; ``False`` if it was already recorded."""
        row = {
            "event_id": event_id,
            "event_type": event_type,
            "org_slug": org_slug,
            "outcome": outcome,
            "received_at": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as con:
                con.execute(stripe_events.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def add_member(self, org_slug: str, email: str, role: str) -> Member:
        """Add a seat.

        Raises:
            MemberExistsError: If the email is already a member.
        """
        member = Member(validate_slug(org_slug), email.strip().lower(), role, datetime.now(UTC))
        try:
            with self.engine.begin() as con:
                con.execute(organization_members.insert().values(**_as_row(member)))
        except IntegrityError:
            raise MemberExistsError(f"{member.email} is already a member of {org_slug}") from None
        return member

    def list_members(self, org_slug: str) -> list[Member]:
        """Members of an org, oldest first."""
        query = (
            sa.select(organization_members)
            .where(organization_members.c.org_slug == validate_slug(org_slug))
            .order_by(organization_members.c.created_at, organization_members.c.email)
        )
        with self.engine.connect() as con:
            return [Member(row.org_slug, row.email, row.role, utc(row.created_at)) for row in con.execute(query).all()]

    def remove_member(self, org_slug: str, email: str) -> None:
        """Free a seat.

        Raises:
            MemberNotFoundError: If the email is not a member.
        """
        table = organization_members
        with self.engine.begin() as con:
            result = con.execute(
                table.delete().where(table.c.org_slug == validate_slug(org_slug), table.c.email == email.lower())
            )
        if result.rowcount == 0:
            raise MemberNotFoundError(f"{email} is not a member of {org_slug}")

    def _one(self, condition: Any) -> Organization | None:
        with self.engine.connect() as con:
            row = con.execute(sa.select(organizations).where(condition)).first()
        return _org(row._mapping) if row else None


def _as_row(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _org(row: Any) -> Organization:
    values = {f.name: row[f.name] for f in fields(Organization)}
    for key in ("plan_event_at", "created_at", "updated_at"):
        values[key] = utc(values[key])
    return Organization(**values)


def _plan_change(row: Any) -> PlanChange:
    values = {f.name: row[f.name] for f in fields(PlanChange)}
    values["event_at"], values["created_at"] = utc(values["event_at"]), utc(values["created_at"])
    return PlanChange(**values)
