"""Control plane store: who the tenants are. SQLite by default, Postgres by URL (SQLAlchemy Core)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from cloudact.settings import Settings, SettingsError
from cloudact.tenancy import validate_slug

metadata = sa.MetaData()

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("org_slug", sa.String(50), primary_key=True),
    sa.Column("company_name", sa.String(200), nullable=False),
    sa.Column("company_key", sa.String(50), nullable=False, unique=True),
    sa.Column("plan", sa.String(30), nullable=False, server_default="starter"),
    sa.Column("status", sa.String(20), nullable=False, server_default="active"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


class OrgExistsError(RuntimeError):
    """The company is already onboarded (HTTP 409 in the API)."""


class OrgNotFoundError(LookupError):
    """No org with that slug."""


@dataclass(frozen=True)
class Organization:
    """One tenant."""

    org_slug: str
    company_name: str
    company_key: str
    plan: str
    status: str
    created_at: datetime


class ControlPlane:
    """Organizations store over SQLAlchemy (SQLite file locally, Postgres/Supabase's Postgres by URL)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    def create_org(self, org_slug: str, company_name: str, company_key: str) -> Organization:
        """Insert a new org.

        Raises:
            OrgExistsError: If the company (its normalised name) is already onboarded.
        """
        row = {
            "org_slug": validate_slug(org_slug),
            "company_name": company_name,
            "company_key": company_key,
            "plan": "starter",
            "status": "active",
            "created_at": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as con:
                con.execute(organizations.insert().values(**row))
        except IntegrityError:
            existing = self.find_by_company_key(company_key)
            slug = existing.org_slug if existing else "?"
            raise OrgExistsError(f"company {company_name!r} is already onboarded as {slug}") from None
        return Organization(**row)

    def delete_org(self, org_slug: str) -> None:
        """Remove an org row (used to undo a failed onboarding)."""
        with self.engine.begin() as con:
            con.execute(organizations.delete().where(organizations.c.org_slug == validate_slug(org_slug)))

    def get_org(self, org_slug: str) -> Organization:
        """The org with this slug.

        Raises:
            OrgNotFoundError: If there is none.
        """
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(organizations).where(organizations.c.org_slug == validate_slug(org_slug))
            ).first()
        if row is None:
            raise OrgNotFoundError(f"no org {org_slug!r}: create it with `cloudact org create NAME`")
        return _org(row._mapping)

    def find_by_company_key(self, company_key: str) -> Organization | None:
        """The org of a normalised company name, if onboarded."""
        with self.engine.connect() as con:
            row = con.execute(sa.select(organizations).where(organizations.c.company_key == company_key)).first()
        return _org(row._mapping) if row else None

    def list_orgs(self) -> list[Organization]:
        """Every org, oldest first."""
        with self.engine.connect() as con:
            rows = con.execute(sa.select(organizations).order_by(organizations.c.created_at)).all()
        return [_org(row._mapping) for row in rows]


def _org(row: Any) -> Organization:
    return Organization(**{key: row[key] for key in Organization.__dataclass_fields__})


def get_control_plane(settings: Settings) -> ControlPlane:
    """The control plane selected by ``CLOUDACT_CONTROL_PLANE`` (sqlite or postgres)."""
    if settings.control_plane == "supabase":
        raise SettingsError("CLOUDACT_CONTROL_PLANE=supabase is not available in this release: use sqlite or postgres")
    settings.ensure_data_dir()
    return ControlPlane(settings.resolved_database_url)
