"""The subscriptions API carries billing_timing (advance | arrears) through create, read, update and OpenAPI."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import onboard

BODY = {"provider": "ACMECORP", "plan": "Licenses", "seats": 500, "unit_price": "100", "currency": "USD",
        "billing_cycle": "annual", "start_date": "2025-04-01", "end_date": "2026-04-01"}  # fmt: skip


def test_billing_timing_round_trip(client: TestClient) -> None:
    org = onboard(client, "Timing Co")
    base, headers = f"/api/v1/orgs/{org['org_slug']}/subscriptions", {"X-API-Key": org["api_key"]}
    default = client.post(base, json=BODY, headers=headers)
    assert default.status_code == 201 and default.json()["billing_timing"] == "advance"
    arrears = client.post(base, json={**BODY, "billing_timing": "arrears"}, headers=headers)
    assert arrears.status_code == 201 and arrears.json()["billing_timing"] == "arrears"
    item = arrears.json()["subscription_id"]
    assert client.get(f"{base}/{item}", headers=headers).json()["billing_timing"] == "arrears"
    patched = client.patch(f"{base}/{item}", json={"billing_timing": "advance"}, headers=headers)
    assert patched.status_code == 200 and patched.json()["billing_timing"] == "advance"
    assert client.patch(f"{base}/{item}", json={"seats": 501}, headers=headers).json()["billing_timing"] == "advance"
    bad = client.post(base, json={**BODY, "billing_timing": "later"}, headers=headers)
    assert bad.status_code == 422
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["SubscriptionIn"]["properties"]["billing_timing"]["enum"] == ["advance", "arrears"]
    assert "billing_timing" in schema["SubscriptionOut"]["required"]
