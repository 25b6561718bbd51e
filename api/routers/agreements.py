"""SaaS spend agreements of an org and their monthly usage (turned into FOCUS rows by the SaaS models)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import OrgDep, WarehouseDep
from api.errors import Forbidden, NotFound, Unauthorized, Unprocessable, responses
from api.routers.subscriptions import check_node
from api.schemas.resources import AgreementIn, AgreementList, AgreementOut, UsageIn, UsageList, UsageOut
from cloudact import spend_agreements
from cloudact.audit import write_audit

router = APIRouter(prefix="/api/v1/orgs/{org_slug}/agreements", tags=["subscriptions"])
AUTH = (Unauthorized, Forbidden, NotFound)


def _text(value: object) -> str | None:
    return None if value is None else format(value, "f")


def _out(item: spend_agreements.SpendAgreement) -> AgreementOut:
    money = ("list_unit_price", "contracted_unit_price", "commitment_amount", "monthly_minimum")
    return AgreementOut(**{**item.__dict__, **{name: _text(getattr(item, name)) for name in money}})


def _usage(item: spend_agreements.AgreementUsage) -> UsageOut:
    return UsageOut(**{**item.__dict__, "quantity": _text(item.quantity)})


@router.get("", response_model=AgreementList, responses=responses(*AUTH))
def list_org_agreements(
    org: OrgDep, warehouse: WarehouseDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> AgreementList:  # fmt: skip
    """The org's spend agreements."""
    items = spend_agreements.list_agreements(warehouse, org.org_slug, limit, offset)
    return AgreementList(items=[_out(item) for item in items], limit=limit, offset=offset)


@router.post("", status_code=201, response_model=AgreementOut, responses=responses(*AUTH, Unprocessable))
def create_org_agreement(body: AgreementIn, org: OrgDep, warehouse: WarehouseDep) -> AgreementOut:
    """Add a spend agreement (a committed spend with an optional monthly minimum, prepaid or billed in arrears)."""
    check_node(warehouse, org.org_slug, body.hierarchy_node_id)
    try:
        item = spend_agreements.create_agreement(warehouse, org.org_slug, **body.model_dump())
    except spend_agreements.AgreementError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    write_audit(warehouse, org.org_slug, "agreement.created", actor="api_key", target=item.agreement_id)
    return _out(item)


@router.get("/{agreement_id}", response_model=AgreementOut, responses=responses(*AUTH))
def get_org_agreement(agreement_id: str, org: OrgDep, warehouse: WarehouseDep) -> AgreementOut:
    """One spend agreement."""
    try:
        return _out(spend_agreements.get_agreement(warehouse, org.org_slug, agreement_id))
    except spend_agreements.AgreementNotFoundError as exc:
        raise NotFound(str(exc), field="agreement_id") from None


@router.delete("/{agreement_id}", status_code=204, responses=responses(*AUTH))
def delete_org_agreement(agreement_id: str, org: OrgDep, warehouse: WarehouseDep) -> Response:
    """Remove a spend agreement and its usage."""
    try:
        spend_agreements.delete_agreement(warehouse, org.org_slug, agreement_id)
    except spend_agreements.AgreementNotFoundError as exc:
        raise NotFound(str(exc), field="agreement_id") from None
    write_audit(warehouse, org.org_slug, "agreement.deleted", actor="api_key", target=agreement_id)
    return Response(status_code=204)


@router.get("/{agreement_id}/usage", response_model=UsageList, responses=responses(*AUTH))
def list_agreement_usage(agreement_id: str, org: OrgDep, warehouse: WarehouseDep) -> UsageList:
    """The usage entered for an agreement, by month."""
    try:
        return UsageList(items=[_usage(u) for u in spend_agreements.list_usage(warehouse, org.org_slug, agreement_id)])
    except spend_agreements.AgreementNotFoundError as exc:
        raise NotFound(str(exc), field="agreement_id") from None


@router.put("/{agreement_id}/usage/{usage_month}", response_model=UsageOut, responses=responses(*AUTH, Unprocessable))
def set_agreement_usage(
    agreement_id: str, usage_month: Annotated[date, Path(description="Any day of the month")], body: UsageIn,
    org: OrgDep, warehouse: WarehouseDep,
) -> UsageOut:  # fmt: skip
    """Set (replace) one month's usage; the month must fall in the agreement's term."""
    try:
        item = spend_agreements.set_usage(warehouse, org.org_slug, agreement_id, usage_month, body.quantity)
    except spend_agreements.AgreementNotFoundError as exc:
        raise NotFound(str(exc), field="agreement_id") from None
    except spend_agreements.AgreementError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    return _usage(item)
