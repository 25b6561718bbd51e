"""System operations with the root key: bootstrap, onboarding, API-key recovery."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ControlPlaneDep, KeyringDep, OrgSlugPath, RootDep, WarehouseDep
from api.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, responses
from api.schemas.system import BootstrapOut, OnboardIn, OnboardOut, RecoveredKeyOut
from cloudact import api_keys
from cloudact.audit import write_audit
from cloudact.control_plane import OrgExistsError, OrgNotFoundError
from cloudact.control_plane.plans import UnknownPlanError
from cloudact.onboarding import onboard_org
from cloudact.tenancy import InvalidSlugError

router = APIRouter(prefix="/api/v1/admin", tags=["system"])
AUTH_ERRORS = (Unauthorized, Forbidden)


@router.post("/bootstrap", response_model=BootstrapOut, responses=responses(*AUTH_ERRORS))
def bootstrap_warehouse(_: RootDep, warehouse: WarehouseDep) -> BootstrapOut:
    """Create or complete the shared warehouse tables (adds only; safe to repeat)."""
    report = warehouse.bootstrap()
    return BootstrapOut(
        created_tables=report.created_tables,
        added_columns=report.added_columns,
        type_mismatches=report.type_mismatches,
        changed=report.changed,
    )


@router.post(
    "/organizations",
    status_code=201,
    response_model=OnboardOut,
    responses=responses(*AUTH_ERRORS, BadRequest, Conflict, Unprocessable),
)
def onboard_organization(
    body: OnboardIn, _: RootDep, control_plane: ControlPlaneDep, warehouse: WarehouseDep, keyring: KeyringDep
) -> OnboardOut:
    """Onboard a company: org, dataset, quota row and an API key shown once."""
    try:
        org = onboard_org(control_plane, warehouse, keyring, body.company_name, body.plan, body.owner_email)
    except OrgExistsError as exc:
        raise Conflict(str(exc), field="company_name") from None
    except UnknownPlanError as exc:
        raise Unprocessable(str(exc), field="plan") from None
    except InvalidSlugError as exc:
        raise Unprocessable(f"company_name gives no valid org slug: {exc}", field="company_name") from None
    return OnboardOut(**org.__dict__)


@router.post(
    "/organizations/{org_slug}/api-key/recover",
    response_model=RecoveredKeyOut,
    responses=responses(*AUTH_ERRORS, NotFound),
)
def recover_org_api_key(
    org_slug: OrgSlugPath, _: RootDep, control_plane: ControlPlaneDep, warehouse: WarehouseDep, keyring: KeyringDep
) -> RecoveredKeyOut:
    """Decrypt the stored copy of the org's newest API key (root only; audited)."""
    try:
        control_plane.get_org(org_slug)
        issued = api_keys.recover_api_key(warehouse, keyring, org_slug)
    except (OrgNotFoundError, api_keys.ApiKeyNotFoundError) as exc:
        raise NotFound(str(exc), field="org_slug") from None
    write_audit(warehouse, org_slug, "api_key.recovered", actor="root", target=issued.key_id)
    return RecoveredKeyOut(org_slug=org_slug, key_id=issued.key_id, api_key=issued.api_key)
