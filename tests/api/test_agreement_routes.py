"""Spend agreements over the API: create, read, monthly usage, errors with the field named, removal."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import onboard

# The spec's spend scenario A2: $1,200 a year, $60 a month at least, usage at $12 an hour (list $15).
BODY = {"provider": "Acme Co", "service_name": "AwesomeDB", "sku_id": "U-123", "usage_unit": "Server Hours",
        "list_unit_price": "15", "contracted_unit_price": "12", "commitment_amount": "1200.00",
        "monthly_minimum": "60.00", "currency": "USD",
        "start_date": "2025-04-01", "end_date": "2026-04-01"}  # fmt: skip


def test_agreement_and_usage_round_trip(client: TestClient) -> None:
    org = onboard(client, "Spend Co")
    base, headers = f"/api/v1/orgs/{org['org_slug']}/agreements", {"X-API-Key": org["api_key"]}
    created = client.post(base, json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    item = created.json()
    assert (item["commitment_amount"], item["monthly_minimum"], item["prepaid"]) == ("1200", "60", False)
    agreement = item["agreement_id"]
    assert client.get(f"{base}/{agreement}", headers=headers).json() == item
    assert [a["agreement_id"] for a in client.get(base, headers=headers).json()["items"]] == [agreement]

    for month, hours in (("2025-04-15", "4"), ("2025-05-01", "10"), ("2025-04-01", "5")):
        put = client.put(f"{base}/{agreement}/usage/{month}", json={"quantity": hours}, headers=headers)
        assert put.status_code == 200, put.text
    usage = client.get(f"{base}/{agreement}/usage", headers=headers).json()["items"]
    assert [(u["usage_month"], u["quantity"]) for u in usage] == [("2025-04-01", "5"), ("2025-05-01", "10")]

    outside = client.put(f"{base}/{agreement}/usage/2026-04-01", json={"quantity": "1"}, headers=headers)
    assert outside.status_code == 422 and outside.json()["field"] == "usage_month"
    mid_month = client.post(base, json={**BODY, "start_date": "2025-04-02"}, headers=headers)
    assert mid_month.status_code == 422 and mid_month.json()["field"] == "start_date"
    negative = client.put(f"{base}/{agreement}/usage/2025-06-01", json={"quantity": "-1"}, headers=headers)
    assert negative.status_code == 422

    assert client.delete(f"{base}/{agreement}", headers=headers).status_code == 204
    assert client.get(f"{base}/{agreement}", headers=headers).status_code == 404
    assert client.get(f"{base}/{agreement}/usage", headers=headers).status_code == 404
