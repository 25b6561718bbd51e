"""The Stripe webhook end to end over HTTP: signatures, replays, out-of-order events and the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudact.control_plane import get_control_plane
from cloudact.control_plane.plans import PLANS
from cloudact.settings import Settings
from tests.api.conftest import WEBHOOK_SECRET, onboard

_ids = count(1)


def _event(event_type: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {"id": f"evt_{next(_ids)}", "object": "event", "type": event_type, "created": created,
            "data": {"object": obj}}  # fmt: skip


def _subscription(status: str, price: str, customer: str = "cus_acme") -> dict[str, Any]:
    return {"id": "sub_1", "object": "subscription", "customer": customer, "status": status,
            "items": {"data": [{"price": {"id": price}}]}}  # fmt: skip


def _sign(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _post(client: TestClient, event: dict[str, Any], signature: str | None = None) -> Any:
    payload = json.dumps(event).encode()
    headers = {"Stripe-Signature": signature or _sign(payload), "Content-Type": "application/json"}
    return client.post("/api/v1/billing/stripe/webhook", content=payload, headers=headers)


@pytest.fixture
def acme(client: TestClient) -> str:
    slug = onboard(client, "Acme Corp")["org_slug"]
    linked = _post(client, _event("checkout.session.completed",
                                  {"object": "checkout.session", "customer": "cus_acme", "subscription": "sub_1",
                                   "client_reference_id": slug}, int(time.time()) - 100))  # fmt: skip
    assert linked.status_code == 200 and linked.json()["outcome"] == "linked"
    return slug


def test_a_forged_signature_is_refused(client: TestClient, api_settings: Settings, acme: str) -> None:
    event = _event("customer.subscription.updated", _subscription("active", "price_scale"), int(time.time()))
    payload = json.dumps(event).encode()
    for signature in (_sign(payload, secret="whsec_attacker"), "t=1,v1=deadbeef", ""):
        response = _post(client, event, signature or None) if signature else client.post(
            "/api/v1/billing/stripe/webhook", content=payload)  # fmt: skip
        assert response.status_code == 400
        assert response.json()["type"] == "bad_request" and response.json()["field"] == "Stripe-Signature"
    assert get_control_plane(api_settings).get_org(acme).plan == "starter"


def test_a_stale_timestamp_is_refused(client: TestClient, api_settings: Settings, acme: str) -> None:
    event = _event("customer.subscription.updated", _subscription("active", "price_scale"), int(time.time()))
    payload = json.dumps(event).encode()
    stale = _sign(payload, at=int(time.time()) - api_settings.stripe_webhook_tolerance - 60)
    response = _post(client, event, stale)
    assert response.status_code == 400 and "timestamp" in response.json()["detail"].lower()
    assert get_control_plane(api_settings).get_org(acme).plan == "starter"


def test_an_upgrade_applies_the_plan_limits_and_a_replay_is_ignored(
    client: TestClient, api_settings: Settings, acme: str
) -> None:
    event = _event("customer.subscription.updated", _subscription("active", "price_pro"), int(time.time()))
    first = _post(client, event)
    assert first.status_code == 200 and first.json()["outcome"] == "applied"
    org = get_control_plane(api_settings).get_org(acme)
    assert (org.plan, org.limits, org.stripe_price_id) == ("professional", PLANS["professional"], "price_pro")
    replay = _post(client, event)
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    audit = get_control_plane(api_settings).list_plan_changes(acme)
    assert [(c.source, c.new_plan, c.outcome) for c in audit] == [
        ("onboarding", "starter", "applied"), ("stripe", "professional", "applied"),
    ]  # fmt: skip


def test_a_downgrade_arriving_before_its_upgrade_leaves_the_org_downgraded(
    client: TestClient, api_settings: Settings, acme: str
) -> None:
    now = int(time.time())
    upgrade = _event("customer.subscription.updated", _subscription("active", "price_scale"), now - 60)
    downgrade = _event("customer.subscription.updated", _subscription("active", "price_starter"), now - 10)
    assert _post(client, downgrade).json()["outcome"] == "applied"
    assert _post(client, upgrade).json()["outcome"] == "ignored_out_of_order"
    org = get_control_plane(api_settings).get_org(acme)
    assert (org.plan, org.limits) == ("starter", PLANS["starter"])
    audit = [
        (c.stripe_event_id, c.new_plan, c.outcome) for c in get_control_plane(api_settings).list_plan_changes(acme)
    ]
    assert audit[1:] == [(downgrade["id"], "starter", "applied"), (upgrade["id"], "scale", "ignored_out_of_order")]


def test_payment_failure_and_cancellation(client: TestClient, api_settings: Settings, acme: str) -> None:
    now = int(time.time())
    _post(client, _event("customer.subscription.created", _subscription("active", "price_pro"), now - 30))
    failed = _post(client, _event("invoice.payment_failed", {"object": "invoice", "customer": "cus_acme",
                                                            "subscription": "sub_1"}, now - 20))  # fmt: skip
    assert failed.json()["outcome"] == "applied"
    org = get_control_plane(api_settings).get_org(acme)
    assert (org.plan, org.status) == ("professional", "past_due")
    _post(client, _event("customer.subscription.deleted", _subscription("canceled", "price_pro"), now - 10))
    org = get_control_plane(api_settings).get_org(acme)
    assert (org.plan, org.status, org.limits) == ("free", "active", PLANS["free"])


def test_unknown_price_or_customer_is_rejected_for_stripe_to_retry(
    client: TestClient, api_settings: Settings, acme: str
) -> None:
    now = int(time.time())
    unknown_price = _post(client, _event("customer.subscription.updated", _subscription("active", "price_x"), now))
    assert unknown_price.status_code == 422 and "CLOUDACT_STRIPE_PRICE_PLANS" in unknown_price.json()["detail"]
    stranger = _post(client, _event("customer.subscription.updated",
                                    _subscription("active", "price_pro", customer="cus_stranger"), now))  # fmt: skip
    assert stranger.status_code == 422 and "cus_stranger" in stranger.json()["detail"]
    assert get_control_plane(api_settings).get_org(acme).plan == "starter"


def test_subscription_before_checkout_finds_the_org_by_metadata(client: TestClient, api_settings: Settings) -> None:
    slug = onboard(client, "Globex Inc")["org_slug"]
    subscription = {**_subscription("active", "price_scale", customer="cus_globex"), "metadata": {"org_slug": slug}}
    response = _post(client, _event("customer.subscription.created", subscription, int(time.time())))
    assert response.json()["outcome"] == "applied"
    assert get_control_plane(api_settings).get_org(slug).plan == "scale"


def test_other_event_types_are_acknowledged_and_ignored(client: TestClient) -> None:
    response = _post(client, _event("customer.created", {"object": "customer", "id": "cus_new"}, int(time.time())))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored_type"


def test_same_second_incomplete_then_active_ends_on_the_paid_plan(
    client: TestClient, api_settings: Settings, acme: str
) -> None:
    now = int(time.time())
    pending = _post(client, _event("customer.subscription.created", _subscription("incomplete", "price_pro"), now))
    assert pending.json()["outcome"] == "ignored_incomplete"
    paid = _post(client, _event("customer.subscription.updated", _subscription("active", "price_pro"), now))
    assert paid.json()["outcome"] == "applied"
    assert get_control_plane(api_settings).get_org(acme).plan == "professional"


def test_events_of_an_old_subscription_do_not_touch_the_current_one(
    client: TestClient, api_settings: Settings, acme: str
) -> None:
    now = int(time.time())
    new = {**_subscription("active", "price_scale"), "id": "sub_2"}
    assert _post(client, _event("customer.subscription.created", new, now - 5)).json()["outcome"] == "applied"
    old_deleted = _post(client, _event("customer.subscription.deleted", _subscription("canceled", "price_pro"), now))
    assert old_deleted.json()["outcome"] == "ignored_other_subscription"
    org = get_control_plane(api_settings).get_org(acme)
    assert (org.plan, org.stripe_subscription_id) == ("scale", "sub_2")
