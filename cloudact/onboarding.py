"""Onboarding: a new org in the control plane, its warehouse dataset and its first API key, all or nothing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cloudact.control_plane import ControlPlane, OrgExistsError
from cloudact.tenancy import company_key, make_slug, tenant_dataset
from cloudact.warehouse import Warehouse

API_KEY_PREFIX = "ca_"


@dataclass(frozen=True)
class OnboardedOrg:
    """The result of onboarding; ``api_key`` is shown once and never stored in clear."""

    org_slug: str
    company_name: str
    dataset: str
    api_key: str


def new_api_key() -> tuple[str, str, str, str]:
    """A fresh org API key (32 random bytes) and what is stored of it.

    Returns:
        ``(api_key, key_id, key_prefix, sha256_hex)``.
    """
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return api_key, secrets.token_hex(8), api_key[:8], hash_api_key(api_key)


def hash_api_key(api_key: str) -> str:
    """SHA-256 hex digest of an API key (what the warehouse stores)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def onboard_org(control_plane: ControlPlane, warehouse: Warehouse, company_name: str) -> OnboardedOrg:
    """Create an org; on any failure half-way, undo what was done.

    Raises:
        OrgExistsError: If the company is already onboarded.
        InvalidSlugError: If the name gives no valid slug.
    """
    key = company_key(company_name)
    existing = control_plane.find_by_company_key(key)
    if existing is not None:
        raise OrgExistsError(f"company {company_name!r} is already onboarded as {existing.org_slug}")
    slug = make_slug(company_name)
    dataset = tenant_dataset(slug)
    api_key, key_id, key_prefix, digest = new_api_key()
    control_plane.create_org(slug, company_name.strip(), key)
    try:
        warehouse.ensure_dataset(dataset)
        warehouse.store_api_key(slug, key_id, key_prefix, digest)
    except BaseException:
        warehouse.delete_api_keys(slug)
        warehouse.drop_dataset(dataset)
        control_plane.delete_org(slug)
        raise
    return OnboardedOrg(slug, company_name.strip(), dataset, api_key)
