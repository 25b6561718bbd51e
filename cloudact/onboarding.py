"""Onboarding: a new org in the control plane, its dataset, its quota row and its first API key, all or nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from cloudact import api_keys
from cloudact.audit import write_audit
from cloudact.control_plane import ControlPlaneStore, OrgExistsError, PlanChange
from cloudact.control_plane.plans import DEFAULT_PLAN, plan_limits
from cloudact.keyring import Keyring
from cloudact.members import add_member
from cloudact.quotas import reset_daily
from cloudact.tenancy import company_key, make_slug, tenant_dataset
from cloudact.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnboardedOrg:
    """The result of onboarding; ``api_key`` is shown once and never stored in clear."""

    org_slug: str
    company_name: str
    plan: str
    dataset: str
    api_key: str
    key_id: str


def onboard_org(
    control_plane: ControlPlaneStore,
    warehouse: Warehouse,
    keyring: Keyring,
    company_name: str,
    plan: str = DEFAULT_PLAN,
    owner_email: str | None = None,
) -> OnboardedOrg:
    """Create an org; on any failure half-way, undo every step already done.

    Raises:
        OrgExistsError: If the company is already onboarded.
        InvalidSlugError: If the name gives no valid slug.
        UnknownPlanError: If ``plan`` is not in the catalogue.
    """
    plan_limits(plan)
    name = company_name.strip()
    key = company_key(name)
    existing = control_plane.find_by_company_key(key)
    if existing is not None:
        raise OrgExistsError(f"company {name!r} is already onboarded as {existing.org_slug}")
    slug = make_slug(name)
    dataset = tenant_dataset(slug)
    warehouse.bootstrap()
    org = control_plane.create_org(slug, name, key, plan)
    try:
        control_plane.add_plan_change(
            PlanChange(
                slug,
                None,
                plan,
                None,
                org.status,
                "onboarding",
                "applied",
                None,
                None,
                org.created_at,
                datetime.now(UTC),
            )  # fmt: skip
        )
        if owner_email:
            add_member(control_plane, slug, owner_email, "owner")
        warehouse.ensure_dataset(dataset)
        reset_daily(warehouse, [slug], datetime.now(UTC).date())
        issued = api_keys.issue_api_key(warehouse, keyring, slug)
        write_audit(warehouse, slug, "org.onboarded", actor="root", target=slug, details={"plan": plan})
    except BaseException:
        log.warning("onboarding of %s failed half-way; undoing it", slug)
        _undo(control_plane, warehouse, slug, dataset)
        raise
    return OnboardedOrg(slug, name, plan, dataset, issued.api_key, issued.key_id)


def _undo(control_plane: ControlPlaneStore, warehouse: Warehouse, slug: str, dataset: str) -> None:
    """Undo every step, each on its own: one that fails (e.g. a busy warehouse) must not keep the others."""
    steps = [lambda: control_plane.delete_org(slug)]  # first: a retry must not meet a 409 for a half-made org
    for table in ("org_api_keys", "org_usage_quotas", "org_audit_logs"):
        steps.append(lambda table=table: warehouse.execute(
            f"delete from {warehouse.shared_table(table)} where org_slug = @org_slug", {"org_slug": slug}))  # fmt: skip
    steps.append(lambda: warehouse.drop_dataset(dataset))
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 (keep undoing; the original error is re-raised by the caller)
            log.exception("undoing onboarding of %s: a step failed; run `cloudact bootstrap` later to tidy", slug)
