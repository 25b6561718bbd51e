"""The Stripe webhook: signature-checked, idempotent by event id, safe against out-of-order delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from api.deps import ControlPlaneDep, SettingsDep
from api.errors import BadRequest, ServiceUnavailable, Unprocessable, responses
from api.schemas.system import WebhookOut
from cloudact.billing import WebhookRejectedError, WebhookSignatureError, handle_event, verify_event
from cloudact.settings import SettingsError

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


@router.post(
    "/stripe/webhook", response_model=WebhookOut, responses=responses(BadRequest, Unprocessable, ServiceUnavailable)
)
async def receive_stripe_event(
    request: Request,
    settings: SettingsDep,
    control_plane: ControlPlaneDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookOut:
    """Apply a Stripe event (checkout, subscription created/updated/deleted, payment failed)."""
    payload = await request.body()
    try:
        event = verify_event(settings, payload, stripe_signature)
    except SettingsError as exc:
        raise ServiceUnavailable(str(exc)) from None
    except WebhookSignatureError as exc:
        raise BadRequest(str(exc), field="Stripe-Signature") from None
    try:
        result = handle_event(control_plane, settings, event)
    except WebhookRejectedError as exc:
        raise Unprocessable(str(exc)) from None
    return WebhookOut(event_id=result.event_id, event_type=result.event_type, outcome=result.outcome)
