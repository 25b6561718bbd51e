"""Stripe billing: verified, idempotent, order-safe webhook handling that moves orgs between plans.

Ordering: Stripe does not deliver events in order. Each org remembers the time of the last event applied to its plan
(``plan_event_at``); an event older than that is recorded in ``plan_change_audit`` as ``ignored_out_of_order`` and
changes nothing, so a downgrade that arrives before the upgrade it follows still leaves the org downgraded.
Idempotency: a processed event id is remembered; a replay is acknowledged and ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from cloudact.control_plane import ControlPlaneStore, Organization, OrgNotFoundError, PlanChange
from cloudact.control_plane.plans import FALLBACK_PLAN, PLANS
from cloudact.settings import Settings, SettingsError

log = logging.getLogger(__name__)

HANDLED_EVENTS = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
)
# Stripe subscription status → our org status; the plan comes from the price.
SUBSCRIPTION_STATUS = {"active": "active", "trialing": "active", "past_due": "past_due", "unpaid": "past_due"}
ENDED_STATUSES = ("canceled", "incomplete_expired")


class WebhookSignatureError(ValueError):
    """The payload is not signed by our Stripe endpoint secret, or the signature is stale (HTTP 400)."""


class WebhookRejectedError(ValueError):
    """A verified event we cannot apply yet (unknown price or customer); Stripe retries it (HTTP 422)."""


@dataclass(frozen=True)
class WebhookResult:
    """What happened to one event."""

    event_id: str
    event_type: str
    outcome: str
    org_slug: str | None = None


def verify_event(settings: Settings, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Check the ``Stripe-Signature`` header (HMAC-SHA256 with tolerance) and parse the event.

    Raises:
        SettingsError: If no webhook secret is configured.
        WebhookSignatureError: If the signature is missing, forged or older than the tolerance.
    """
    if settings.stripe_webhook_secret is None:
        raise SettingsError("CLOUDACT_STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks are disabled")
    if not signature:
        raise WebhookSignatureError("missing Stripe-Signature header")
    try:
        stripe.Webhook.construct_event(
            payload, signature, settings.stripe_webhook_secret.get_secret_value(), settings.stripe_webhook_tolerance
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(f"invalid Stripe signature: {exc.user_message or exc}") from None
    except ValueError:
        raise WebhookSignatureError("the payload is not a Stripe event (invalid JSON)") from None
    # The plain dict (not stripe.Event) keeps field access simple and version-independent.
    event = json.loads(payload)
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise WebhookSignatureError("the payload is not a Stripe event (no id or type)")
    return event


def handle_event(store: ControlPlaneStore, settings: Settings, event: dict[str, Any]) -> WebhookResult:
    """Apply one verified Stripe event to the control plane.

    Raises:
        WebhookRejectedError: If the event names a price we do not sell or a customer we cannot place.
    """
    event_id, event_type = str(event["id"]), str(event["type"])
    if store.has_stripe_event(event_id):
        return WebhookResult(event_id, event_type, "duplicate")
    if event_type not in HANDLED_EVENTS:
        store.record_stripe_event(event_id, event_type, None, "ignored_type")
        return WebhookResult(event_id, event_type, "ignored_type")
    obj = event.get("data", {}).get("object", {})
    event_at = datetime.fromtimestamp(int(event.get("created", 0)), UTC)
    if event_type == "checkout.session.completed":
        slug = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("org_slug")
        if not slug or not obj.get("customer"):
            raise WebhookRejectedError(f"{event_id}: checkout session without client_reference_id or customer")
        try:
            org = store.link_stripe_customer(slug, obj["customer"], obj.get("subscription"))
        except OrgNotFoundError:
            raise WebhookRejectedError(f"{event_id}: no org {slug!r} for checkout session") from None
        outcome = "linked"
    else:
        org = _org_of(store, obj, event_id)
        skip = _skip_reason(event_type, obj, org)
        if skip is not None:
            store.add_plan_change(
                PlanChange(
                    org.org_slug,
                    org.plan,
                    org.plan,
                    org.status,
                    org.status,
                    "stripe",
                    skip,
                    event_id,
                    event_type,
                    event_at,
                    datetime.now(UTC),
                )  # fmt: skip
            )
            store.record_stripe_event(event_id, event_type, org.org_slug, skip)
            return WebhookResult(event_id, event_type, skip, org.org_slug)
        plan, status = _target(settings, event_type, obj, org, event_id)
        price = _price_id(obj) if event_type.startswith("customer.subscription.") else None
        subscription = obj.get("id") if event_type.startswith("customer.subscription.") else obj.get("subscription")
        updated = store.apply_plan_change(
            org.org_slug, plan=plan, status=status, event_at=event_at, price_id=price, subscription_id=subscription
        )
        outcome = "applied" if updated else "ignored_out_of_order"
        store.add_plan_change(
            PlanChange(
                org.org_slug,
                org.plan,
                plan,
                org.status,
                status,
                "stripe",
                outcome,
                event_id,
                event_type,
                event_at,
                datetime.now(UTC),
            )  # fmt: skip
        )
    store.record_stripe_event(event_id, event_type, org.org_slug, outcome)
    log.info("stripe %s %s → %s for %s", event_type, event_id, outcome, org.org_slug)
    return WebhookResult(event_id, event_type, outcome, org.org_slug)


def _org_of(store: ControlPlaneStore, obj: dict[str, Any], event_id: str) -> Organization:
    customer = obj.get("customer")
    org = store.find_by_stripe_customer(customer) if customer else None
    if org is not None:
        return org
    # The subscription may arrive before checkout.session.completed links the customer: use our metadata.
    slug = (obj.get("metadata") or {}).get("org_slug")
    if slug:
        try:
            return store.get_org(slug)
        except OrgNotFoundError:
            pass
    raise WebhookRejectedError(f"{event_id}: Stripe customer {customer!r} is not linked to any org yet")


def _skip_reason(event_type: str, obj: dict[str, Any], org: Organization) -> str | None:
    """Why an event must not touch the org's plan, or ``None`` to apply it."""
    if event_type.startswith("customer.subscription.") and obj.get("status") == "incomplete":
        return "ignored_incomplete"  # the first payment is pending: nothing changes until Stripe says more
    subscription = obj.get("id") if event_type.startswith("customer.subscription.") else obj.get("subscription")
    current = org.stripe_subscription_id
    if current and subscription and subscription != current:
        # An event of another subscription: only a new subscription becoming active replaces the current one.
        becomes_current = event_type in ("customer.subscription.created", "customer.subscription.updated") and (
            obj.get("status") in ("active", "trialing")
        )
        if not becomes_current:
            return "ignored_other_subscription"
    return None


def _price_id(obj: dict[str, Any]) -> str | None:
    items = (obj.get("items") or {}).get("data") or []
    return items[0].get("price", {}).get("id") if items else None


def _target(
    settings: Settings, event_type: str, obj: dict[str, Any], org: Organization, event_id: str
) -> tuple[str, str]:
    if event_type == "invoice.payment_failed":
        return org.plan, "past_due"
    stripe_status = obj.get("status")
    if event_type == "customer.subscription.deleted" or stripe_status in ENDED_STATUSES:
        return FALLBACK_PLAN, "active"
    price = _price_id(obj)
    plan = settings.stripe_price_plans.get(price or "")
    if plan is None or plan not in PLANS:
        raise WebhookRejectedError(
            f"{event_id}: Stripe price {price!r} maps to no plan: add it to CLOUDACT_STRIPE_PRICE_PLANS"
        )
    return plan, SUBSCRIPTION_STATUS.get(str(stripe_status), org.status)
