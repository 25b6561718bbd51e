"""Control plane: who the tenants are, their plan and limits, their members and every plan change.

One interface (:class:`ControlPlaneStore`), three implementations chosen by ``CLOUDACT_CONTROL_PLANE``:
``sqlite`` (embedded default) and ``postgres`` over SQLAlchemy, ``supabase`` over Supabase's REST API (supabase-py).
The schema is created by versioned migrations (``cloudact migrate``), never by the stores themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cloudact.control_plane.plans import PlanLimits
from cloudact.settings import Settings, SettingsError

# "Never changed by an event": the ordering guard compares event times against this.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ORG_STATUSES = ("active", "past_due", "suspended")
MEMBER_ROLES = ("owner", "admin", "member", "viewer")


class ControlPlaneError(RuntimeError):
    """Base of the control-plane errors; the message is safe to show to the caller."""


class OrgExistsError(ControlPlaneError):
    """The company is already onboarded (HTTP 409)."""


class OrgNotFoundError(ControlPlaneError, LookupError):
    """No org with that slug (HTTP 404)."""


class MemberExistsError(ControlPlaneError):
    """The email is already a member of the org (HTTP 409)."""


class MemberNotFoundError(ControlPlaneError, LookupError):
    """No such member (HTTP 404)."""


class SchemaNotReadyError(ControlPlaneError):
    """The control-plane tables are missing or older than this release: run ``cloudact migrate``."""


@dataclass(frozen=True)
class Organization:
    """One tenant as the control plane knows it."""

    org_slug: str
    company_name: str
    company_key: str
    plan: str
    status: str
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    stripe_price_id: str | None
    limit_pipeline_runs_daily: int
    limit_pipeline_runs_monthly: int
    limit_concurrent_runs: int
    limit_seats: int
    limit_providers: int
    plan_event_at: datetime
    created_at: datetime
    updated_at: datetime

    @property
    def limits(self) -> PlanLimits:
        """The limits recorded on the org (copied from its plan when the plan changed)."""
        return PlanLimits(
            pipeline_runs_daily=self.limit_pipeline_runs_daily,
            pipeline_runs_monthly=self.limit_pipeline_runs_monthly,
            concurrent_runs=self.limit_concurrent_runs,
            seats=self.limit_seats,
            providers=self.limit_providers,
        )


@dataclass(frozen=True)
class Member:
    """A seat in an org."""

    org_slug: str
    email: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class PlanChange:
    """One row of ``plan_change_audit``: a plan or status change and the event that caused it."""

    org_slug: str
    old_plan: str | None
    new_plan: str
    old_status: str | None
    new_status: str
    source: str
    outcome: str
    stripe_event_id: str | None
    stripe_event_type: str | None
    event_at: datetime
    created_at: datetime


class ControlPlaneStore(Protocol):
    """What the platform needs from the control plane; every implementation passes ``tests/control_plane``."""

    def check_schema(self) -> None: ...
    def create_org(self, org_slug: str, company_name: str, company_key: str, plan: str) -> Organization: ...
    def delete_org(self, org_slug: str) -> None: ...
    def get_org(self, org_slug: str) -> Organization: ...
    def find_by_company_key(self, company_key: str) -> Organization | None: ...
    def find_by_stripe_customer(self, customer_id: str) -> Organization | None: ...
    def list_orgs(self, *, status: str | None = None, limit: int = 1000, offset: int = 0) -> list[Organization]: ...
    def link_stripe_customer(self, org_slug: str, customer_id: str, subscription_id: str | None) -> Organization: ...
    def apply_plan_change(
        self,
        org_slug: str,
        *,
        plan: str,
        status: str,
        event_at: datetime,
        price_id: str | None = None,
        subscription_id: str | None = None,
    ) -> Organization | None: ...
    def add_plan_change(self, change: PlanChange) -> None: ...
    def list_plan_changes(self, org_slug: str) -> list[PlanChange]: ...
    def has_stripe_event(self, event_id: str) -> bool: ...
    def record_stripe_event(self, event_id: str, event_type: str, org_slug: str | None, outcome: str) -> bool: ...
    def add_member(self, org_slug: str, email: str, role: str) -> Member: ...
    def list_members(self, org_slug: str) -> list[Member]: ...
    def remove_member(self, org_slug: str, email: str) -> None: ...


def new_org_row(org_slug: str, company_name: str, company_key: str, plan: str) -> dict[str, object]:
    """The row of a newly onboarded org on ``plan``: active, no Stripe link yet, the plan's limits."""
    from cloudact.control_plane.plans import plan_limits
    from cloudact.tenancy import validate_slug

    now = datetime.now(UTC)
    return {
        "org_slug": validate_slug(org_slug),
        "company_name": company_name,
        "company_key": company_key,
        "plan": plan,
        "status": "active",
        "stripe_customer_id": None,
        "stripe_subscription_id": None,
        "stripe_price_id": None,
        **plan_limits(plan).as_columns(),
        "plan_event_at": EPOCH,
        "created_at": now,
        "updated_at": now,
    }


def plan_change_values(
    plan: str, status: str, event_at: datetime, price_id: str | None, subscription_id: str | None
) -> dict[str, object]:
    """The org columns a plan change writes: plan, status, the plan's limits, the event time and the Stripe ids."""
    from cloudact.control_plane.plans import plan_limits

    values: dict[str, object] = {
        "plan": plan,
        "status": status,
        **plan_limits(plan).as_columns(),
        "plan_event_at": event_at,
        "updated_at": datetime.now(UTC),
    }
    if price_id is not None:
        values["stripe_price_id"] = price_id
    if subscription_id is not None:
        values["stripe_subscription_id"] = subscription_id
    return values


def iter_orgs(store: ControlPlaneStore, status: str | None = None, page: int = 500) -> list[Organization]:
    """Every org (optionally of one status), read page by page: scheduled jobs must never stop at a page size."""
    orgs: list[Organization] = []
    while True:
        batch = store.list_orgs(status=status, limit=page, offset=len(orgs))
        orgs.extend(batch)
        if len(batch) < page:
            return orgs


def utc(value: datetime | str) -> datetime:
    """A timestamp read back from any store as an aware UTC datetime (SQLite drops the offset)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def get_control_plane(settings: Settings) -> ControlPlaneStore:
    """The store selected by ``CLOUDACT_CONTROL_PLANE``.

    Raises:
        SettingsError: If the selected store lacks its connection settings.
    """
    if settings.control_plane == "supabase":
        from cloudact.control_plane.supabase_store import SupabaseControlPlane

        if not settings.supabase_url or not settings.supabase_key:
            raise SettingsError("CLOUDACT_SUPABASE_URL and CLOUDACT_SUPABASE_KEY (service role) are required")
        supabase = SupabaseControlPlane(settings.supabase_url, settings.supabase_key.get_secret_value())
        supabase.check_schema()
        return supabase
    from cloudact.control_plane.migrate import current_revision, migrate
    from cloudact.control_plane.schema import MIGRATION_HEAD
    from cloudact.control_plane.sql_store import SqlControlPlane

    settings.ensure_data_dir()
    url = settings.resolved_database_url
    # The embedded SQLite file belongs to this machine: bring it to the current schema on first use. A shared
    # Postgres is migrated by its operator (`cloudact migrate`) and only checked here.
    if settings.control_plane == "sqlite" and current_revision(url) != MIGRATION_HEAD:
        migrate(url)
    store = SqlControlPlane(url)
    store.check_schema()
    return store
