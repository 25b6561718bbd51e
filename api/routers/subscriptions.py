"""SaaS subscriptions of an org (entered by hand; turned into FOCUS rows by the SaaS models)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import OrgDep, WarehouseDep
from api.errors import Forbidden, NotFound, Unauthorized, Unprocessable, responses
from api.schemas.resources import SubscriptionIn, SubscriptionList, SubscriptionOut, SubscriptionPatch
from cloudact import subscriptions
from cloudact.audit import write_audit
from cloudact.hierarchy import NodeNotFoundError, get_node

router = APIRouter(prefix="/api/v1/orgs/{org_slug}/subscriptions", tags=["subscriptions"])
AUTH = (Unauthorized, Forbidden, NotFound)


def _out(item: subscriptions.Subscription) -> SubscriptionOut:
    return SubscriptionOut(**{**item.__dict__, "unit_price": format(item.unit_price, "f")})


def check_node(warehouse: WarehouseDep, org_slug: str, node_id: str | None) -> None:
    if node_id is None:
        return
    try:
        get_node(warehouse, org_slug, node_id)
    except NodeNotFoundError:
        raise Unprocessable(f"no hierarchy node {node_id} in this org", field="hierarchy_node_id") from None


@router.get("", response_model=SubscriptionList, responses=responses(*AUTH))
def list_org_subscriptions(
    org: OrgDep, warehouse: WarehouseDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> SubscriptionList:  # fmt: skip
    """The org's SaaS subscriptions."""
    items = subscriptions.list_subscriptions(warehouse, org.org_slug, limit, offset)
    return SubscriptionList(items=[_out(item) for item in items], limit=limit, offset=offset)


@router.post("", status_code=201, response_model=SubscriptionOut, responses=responses(*AUTH, Unprocessable))
def create_org_subscription(body: SubscriptionIn, org: OrgDep, warehouse: WarehouseDep) -> SubscriptionOut:
    """Add a subscription."""
    check_node(warehouse, org.org_slug, body.hierarchy_node_id)
    try:
        item = subscriptions.create_subscription(warehouse, org.org_slug, **body.model_dump())
    except subscriptions.SubscriptionError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    write_audit(warehouse, org.org_slug, "subscription.created", actor="api_key", target=item.subscription_id)
    return _out(item)


@router.get("/{subscription_id}", response_model=SubscriptionOut, responses=responses(*AUTH))
def get_org_subscription(subscription_id: str, org: OrgDep, warehouse: WarehouseDep) -> SubscriptionOut:
    """One subscription."""
    try:
        return _out(subscriptions.get_subscription(warehouse, org.org_slug, subscription_id))
    except subscriptions.SubscriptionNotFoundError as exc:
        raise NotFound(str(exc), field="subscription_id") from None


@router.patch("/{subscription_id}", response_model=SubscriptionOut, responses=responses(*AUTH, Unprocessable))
def update_org_subscription(
    subscription_id: str, body: SubscriptionPatch, org: OrgDep, warehouse: WarehouseDep
) -> SubscriptionOut:
    """Change seats, price, plan, end date (cancellation), node or billing timing."""
    check_node(warehouse, org.org_slug, body.hierarchy_node_id)
    try:
        item = subscriptions.update_subscription(warehouse, org.org_slug, subscription_id, **body.model_dump())
    except subscriptions.SubscriptionNotFoundError as exc:
        raise NotFound(str(exc), field="subscription_id") from None
    except subscriptions.SubscriptionError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    return _out(item)


@router.delete("/{subscription_id}", status_code=204, responses=responses(*AUTH))
def delete_org_subscription(subscription_id: str, org: OrgDep, warehouse: WarehouseDep) -> Response:
    """Remove a subscription."""
    try:
        subscriptions.delete_subscription(warehouse, org.org_slug, subscription_id)
    except subscriptions.SubscriptionNotFoundError as exc:
        raise NotFound(str(exc), field="subscription_id") from None
    write_audit(warehouse, org.org_slug, "subscription.deleted", actor="api_key", target=subscription_id)
    return Response(status_code=204)
