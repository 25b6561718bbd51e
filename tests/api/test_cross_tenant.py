"""Tenant isolation over every org-scoped route of the OpenAPI document: another org's key or ids find nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudact.control_plane import get_control_plane
from cloudact.quotas import admit_pipeline_run, finish_pipeline_run
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse
from tests.api.conftest import onboard

OPENAI = {"admin_key": "sk-admin-" + "tenant" * 4}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("put", "/integrations/{provider}"): OPENAI,
    ("post", "/hierarchy/nodes"): {"level": "department", "name": "X"},
    ("patch", "/hierarchy/nodes/{node_id}"): {"name": "renamed"},
    ("post", "/subscriptions"): {"provider": "Slack", "plan": "Pro", "seats": 2, "unit_price": "8.75",
                                 "currency": "USD", "billing_cycle": "monthly", "start_date": "2026-01-01"},
    ("patch", "/subscriptions/{subscription_id}"): {"seats": 3},
    ("post", "/agreements"): {"provider": "Acme Co", "service_name": "AwesomeDB", "sku_id": "U-123",
                              "usage_unit": "Server Hours", "list_unit_price": "15", "contracted_unit_price": "12",
                              "commitment_amount": "1200.00", "monthly_minimum": "60.00", "currency": "USD",
                              "start_date": "2026-01-01", "end_date": "2027-01-01"},
    ("put", "/agreements/{agreement_id}/usage/{usage_month}"): {"quantity": "4"},
    ("post", "/pipelines/runs"): {"providers": ["openai"]},
}  # fmt: skip
IDS = ("node_id", "subscription_id", "run_id", "agreement_id")


def _tenant(client: TestClient, settings: Settings, name: str) -> dict[str, str]:
    org = onboard(client, name)
    slug, headers = org["org_slug"], {"X-API-Key": org["api_key"]}
    base = f"/api/v1/orgs/{slug}"
    assert client.put(f"{base}/integrations/openai", json=OPENAI, headers=headers).status_code == 200
    node = client.post(f"{base}/hierarchy/nodes", json={"level": "department", "name": name}, headers=headers)
    sub = client.post(f"{base}/subscriptions", json=BODIES[("post", "/subscriptions")], headers=headers)
    agreement = client.post(f"{base}/agreements", json=BODIES[("post", "/agreements")], headers=headers)
    assert agreement.status_code == 201, agreement.text
    warehouse = get_warehouse(settings)
    record = get_control_plane(settings).get_org(slug)
    run_id = admit_pipeline_run(warehouse, record, "openai", "api")
    finish_pipeline_run(warehouse, slug, run_id, "succeeded", {"openai": 1})
    return {"slug": slug, "key": org["api_key"], "node_id": node.json()["node_id"],
            "subscription_id": sub.json()["subscription_id"], "run_id": run_id,
            "agreement_id": agreement.json()["agreement_id"]}  # fmt: skip


def _org_routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    prefix = "/api/v1/orgs/{org_slug}"
    return [(method, path) for path, ops in paths.items() if path.startswith(prefix) for method in ops]


def _fill(path: str, org: dict[str, str], ids: dict[str, str]) -> str:
    values = {
        "org_slug": org["slug"],
        "provider": "openai",
        "dimension": "provider",
        "usage_month": "2026-03-01",
        **ids,
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture
def tenants(client: TestClient, api_settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    return _tenant(client, api_settings, "Acme Corp"), _tenant(client, api_settings, "Globex Inc")


def test_every_org_route_refuses_no_key_and_another_orgs_key(client: TestClient, tenants) -> None:  # noqa: ANN001
    acme, globex = tenants
    routes = _org_routes(client)
    assert len(routes) >= 20
    for method, path in routes:
        own_ids = {k: acme[k] for k in IDS}
        url = _fill(path, acme, own_ids)
        body = BODIES.get((method, path.removeprefix("/api/v1/orgs/{org_slug}")))
        anonymous = client.request(method, url, json=body)
        assert anonymous.status_code == 401 and anonymous.json()["field"] == "X-API-Key", (method, path)
        response = client.request(method, url, json=body, headers={"X-API-Key": globex["key"]})
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["type"] == "forbidden"
        for secret in (*(acme[k] for k in IDS), "Acme Corp"):
            assert secret not in response.text, (method, path)


def test_own_key_with_another_orgs_ids_finds_nothing(client: TestClient, tenants) -> None:  # noqa: ANN001
    acme, globex = tenants
    foreign = {k: globex[k] for k in IDS}
    checked = 0
    for method, path in _org_routes(client):
        names = set(re.findall(r"\{(\w+)\}", path)) - {"org_slug", "provider", "dimension", "usage_month"}
        if not names:
            continue
        url = _fill(path, acme, foreign)
        body = BODIES.get((method, path.removeprefix("/api/v1/orgs/{org_slug}")))
        response = client.request(method, url, json=body, headers={"X-API-Key": acme["key"]})
        assert response.status_code == 404, (method, path, response.text)
        checked += 1
    assert checked >= 6
    # Lists show only the org's own items.
    headers = {"X-API-Key": acme["key"]}
    base = f"/api/v1/orgs/{acme['slug']}"
    listed = " ".join(client.get(f"{base}{p}", headers=headers).text
                      for p in ("/hierarchy/nodes", "/subscriptions", "/pipelines/runs", "/integrations",
                                "/agreements"))  # fmt: skip
    for foreign_id in foreign.values():
        assert foreign_id not in listed
    assert all(acme[k] in listed for k in IDS)
    # And nothing was changed in the other org.
    other = client.get(f"/api/v1/orgs/{globex['slug']}/subscriptions", headers={"X-API-Key": globex["key"]}).json()
    assert [(item["subscription_id"], item["seats"]) for item in other["items"]] == [(globex["subscription_id"], 2)]
