"""Org-scoped routes of the control plane: profile, integrations and quota usage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from api.deps import KeyringDep, OrgDep, WarehouseDep
from api.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, responses
from api.schemas.orgs import IntegrationList, IntegrationOut, OrgOut, UsageOut
from cloudact.audit import write_audit
from cloudact.credentials import PROVIDER_CREDENTIALS, CredentialError
from cloudact.integrations import (
    IntegrationNotFoundError,
    ProviderLimitError,
    check_provider_limit,
    delete_integration,
    list_integrations,
    set_integration,
)
from cloudact.quotas import get_usage

router = APIRouter(prefix="/api/v1/orgs/{org_slug}", tags=["orgs"])
AUTH = (Unauthorized, Forbidden, NotFound)


@router.get("", response_model=OrgOut, responses=responses(*AUTH))
def get_org_profile(org: OrgDep) -> OrgOut:
    """The org's profile, plan and limits."""
    return OrgOut(**{name: getattr(org, name) for name in OrgOut.model_fields})


@router.get("/integrations", response_model=IntegrationList, responses=responses(*AUTH))
def list_org_integrations(org: OrgDep, warehouse: WarehouseDep) -> IntegrationList:
    """The org's integrations, redacted (secrets are never returned)."""
    items = list_integrations(warehouse, org.org_slug)
    return IntegrationList(items=[IntegrationOut(**item.__dict__) for item in items])


@router.put("/integrations/{provider}", response_model=IntegrationOut, responses=responses(*AUTH, Unprocessable))
def put_org_integration(
    provider: str,
    org: OrgDep,
    warehouse: WarehouseDep,
    keyring: KeyringDep,
    credentials: dict[str, Any] = Body(description="The provider's credentials; see the README for each shape"),  # noqa: B008
) -> IntegrationOut:
    """Create or replace the org's credentials for a provider (validated, encrypted; never returned)."""
    if provider not in PROVIDER_CREDENTIALS:
        raise NotFound(f"unknown provider {provider!r}: expected one of {', '.join(PROVIDER_CREDENTIALS)}",
                       field="provider")  # fmt: skip
    try:
        check_provider_limit(warehouse, org.org_slug, provider, org.limit_providers)
        item = set_integration(warehouse, keyring, org.org_slug, provider, credentials)
    except ProviderLimitError as exc:
        raise Conflict(str(exc), field="provider") from None
    except CredentialError as exc:
        raise Unprocessable(str(exc), field=exc.problems[0][0] if exc.problems else None) from None
    write_audit(warehouse, org.org_slug, "integration.set", actor="api_key", target=provider, details=item.summary)
    return IntegrationOut(**item.__dict__)


@router.delete("/integrations/{provider}", status_code=204, responses=responses(*AUTH))
def delete_org_integration(provider: str, org: OrgDep, warehouse: WarehouseDep) -> Response:
    """Delete the org's credentials for a provider."""
    try:
        delete_integration(warehouse, org.org_slug, provider)
    except IntegrationNotFoundError as exc:
        raise NotFound(str(exc), field="provider") from None
    write_audit(warehouse, org.org_slug, "integration.deleted", actor="api_key", target=provider)
    return Response(status_code=204)


@router.get("/quotas", response_model=UsageOut, responses=responses(*AUTH))
def get_org_quota_usage(org: OrgDep, warehouse: WarehouseDep) -> UsageOut:
    """Plan limits and pipeline-run usage today, this month and now."""
    usage = get_usage(warehouse, org)
    return UsageOut(plan=org.plan, **usage.__dict__)
