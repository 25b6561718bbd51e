"""The control plane over Supabase's REST API (PostgREST) with supabase-py, using the service-role key.

Each method is one REST call, so each write is atomic on its own; the Stripe ordering guard is a conditional PATCH
(``plan_event_at=lte.<event time>``), which PostgREST runs as one UPDATE. The schema comes from ``cloudact migrate``
run against Supabase's Postgres (``CLOUDACT_DATABASE_URL``).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from postgrest.exceptions import APIError
from supabase import Client, ClientOptions, create_client

from cloudact.control_plane import (
    ControlPlaneError,
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
from cloudact.tenancy import validate_slug

UNIQUE_VIOLATION = "23505"
UNDEFINED_TABLE = ("42P01", "PGRST205")


class SupabaseControlPlane:
    """Control plane on Supabase; needs the service-role key (row-level security confines any other role)."""

    def __init__(self, url: str, service_role_key: str, *, timeout: int = 30) -> None:
        self.client: Client = create_client(url, service_role_key, ClientOptions(postgrest_client_timeout=timeout))

    def check_schema(self) -> None:
        """Fail clearly when the migrations have not been applied.

        Raises:
            SchemaNotReadyError: If a control-plane table is missing.
        """
        for table in ("organizations", "organization_members", "plan_change_audit", "stripe_events"):
            try:
                self.client.table(table).select("*").limit(1).execute()
            except APIError as exc:
                if exc.code in UNDEFINED_TABLE or "does not exist" in str(exc.message):
                    raise SchemaNotReadyError(
                        f"control plane table {table} is missing: run `cloudact migrate` against Supabase's Postgres"
                    ) from None
                raise _error(exc) from None

    def create_org(self, org_slug: str, company_name: str, company_key: str, plan: str) -> Organization:
        """Insert a new org on ``plan`` with that plan's limits.

        Raises:
            OrgExistsError: If the company or the slug is already onboarded.
        """
        row = new_org_row(org_slug, company_name, company_key, plan)
        try:
            data = self.client.table("organizations").insert(_json(row)).execute().data
        except APIError as exc:
            if exc.code == UNIQUE_VIOLATION:
                existing = self.find_by_company_key(company_key)
                raise OrgExistsError(
                    f"company {company_name!r} is already onboarded as {existing.org_slug if existing else org_slug}"
                ) from None
            raise _error(exc) from None
        return _org(data[0])

    def delete_org(self, org_slug: str) -> None:
        """Remove an org with its members and audit rows (used to undo a failed onboarding)."""
        slug = validate_slug(org_slug)
        for table in ("organization_members", "plan_change_audit", "organizations"):
            self._call(lambda table=table: self.client.table(table).delete().eq("org_slug", slug).execute())

    def get_org(self, org_slug: str) -> Organization:
        """The org with this slug.

        Raises:
            OrgNotFoundError: If there is none.
        """
        org = self._one("org_slug", validate_slug(org_slug))
        if org is None:
            raise OrgNotFoundError(f"no org {org_slug!r}")
        return org

    def find_by_company_key(self, company_key: str) -> Organization | None:
        """The org of a normalised company name, if onboarded."""
        return self._one("company_key", company_key)

    def find_by_stripe_customer(self, customer_id: str) -> Organization | None:
        """The org linked to a Stripe customer, if any."""
        return self._one("stripe_customer_id", customer_id)

    def list_orgs(self, *, status: str | None = None, limit: int = 1000, offset: int = 0) -> list[Organization]:
        """Orgs, oldest first, optionally of one status."""
        query = self.client.table("organizations").select("*")
        if status is not None:
            query = query.eq("status", status)
        query = query.order("created_at").order("org_slug").range(offset, offset + limit - 1)
        return [_org(row) for row in self._call(query.execute).data]

    def link_stripe_customer(self, org_slug: str, customer_id: str, subscription_id: str | None) -> Organization:
        """Attach the Stripe customer (and subscription) that pays for the org."""
        values: dict[str, Any] = {"stripe_customer_id": customer_id, "updated_at": datetime.now(UTC)}
        if subscription_id:
            values["stripe_subscription_id"] = subscription_id
        query = self.client.table("organizations").update(_json(values)).eq("org_slug", validate_slug(org_slug))
        data = self._call(query.execute).data
        if not data:
            raise OrgNotFoundError(f"no org {org_slug!r}")
        return _org(data[0])

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
        """Move the org to ``plan``/``status`` unless a newer change was already applied (one conditional PATCH).

        Returns:
            The updated org, or ``None`` if the change is older than the org's last applied one.
        """
        event_at = utc(event_at)
        values = plan_change_values(plan, status, event_at, price_id, subscription_id)
        query = (
            self.client.table("organizations")
            .update(_json(values))
            .eq("org_slug", validate_slug(org_slug))
            .lte("plan_event_at", event_at.isoformat())
        )
        data = self._call(query.execute).data
        return _org(data[0]) if data else None

    def add_plan_change(self, change: PlanChange) -> None:
        """Append a row to ``plan_change_audit``."""
        row = {f.name: getattr(change, f.name) for f in fields(PlanChange)}
        self._call(self.client.table("plan_change_audit").insert(_json(row)).execute)

    def list_plan_changes(self, org_slug: str) -> list[PlanChange]:
        """Every audit row of an org, oldest first."""
        query = self.client.table("plan_change_audit").select("*").eq("org_slug", validate_slug(org_slug)).order("id")
        changes = []
        for row in self._call(query.execute).data:
            values = {f.name: row[f.name] for f in fields(PlanChange)}
            values["event_at"], values["created_at"] = utc(values["event_at"]), utc(values["created_at"])
            changes.append(PlanChange(**values))
        return changes

    def has_stripe_event(self, event_id: str) -> bool:
        """Whether this Stripe event id was already processed."""
        query = self.client.table("stripe_events").select("event_id").eq("event_id", event_id)
        return bool(self._call(query.execute).data)

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
            self.client.table("stripe_events").insert(_json(row)).execute()
        except APIError as exc:
            if exc.code == UNIQUE_VIOLATION:
                return False
            raise _error(exc) from None
        return True

    def add_member(self, org_slug: str, email: str, role: str) -> Member:
        """Add a seat.

        Raises:
            MemberExistsError: If the email is already a member.
        """
        member = Member(validate_slug(org_slug), email.strip().lower(), role, datetime.now(UTC))
        row = {f.name: getattr(member, f.name) for f in fields(Member)}
        try:
            self.client.table("organization_members").insert(_json(row)).execute()
        except APIError as exc:
            if exc.code == UNIQUE_VIOLATION:
                raise MemberExistsError(f"{member.email} is already a member of {org_slug}") from None
            raise _error(exc) from None
        return member

    def list_members(self, org_slug: str) -> list[Member]:
        """Members of an org, oldest first."""
        query = (
            self.client.table("organization_members")
            .select("*")
            .eq("org_slug", validate_slug(org_slug))
            .order("created_at")
            .order("email")
        )
        return [
            Member(row["org_slug"], row["email"], row["role"], utc(row["created_at"]))
            for row in self._call(query.execute).data
        ]

    def remove_member(self, org_slug: str, email: str) -> None:
        """Free a seat.

        Raises:
            MemberNotFoundError: If the email is not a member.
        """
        query = (
            self.client.table("organization_members")
            .delete()
            .eq("org_slug", validate_slug(org_slug))
            .eq("email", email.lower())
        )
        if not self._call(query.execute).data:
            raise MemberNotFoundError(f"{email} is not a member of {org_slug}")

    def _one(self, column: str, value: str) -> Organization | None:
        query = self.client.table("organizations").select("*").eq(column, value).limit(1)
        data = self._call(query.execute).data
        return _org(data[0]) if data else None

    def _call(self, execute: Any) -> Any:
        try:
            return execute()
        except APIError as exc:
            raise _error(exc) from None


def _error(exc: APIError) -> ControlPlaneError:
    # PostgREST's message names the table/column; the request (and the service key) never appears in it.
    return ControlPlaneError(f"Supabase refused the request ({exc.code}): {exc.message}")


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


def _org(row: dict[str, Any]) -> Organization:
    values = {f.name: row[f.name] for f in fields(Organization)}
    for key in ("plan_event_at", "created_at", "updated_at"):
        values[key] = utc(values[key])
    return Organization(**values)
