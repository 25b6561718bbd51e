"""Root and org-scoped control-plane routes: 401 without a key, 403 with the wrong one, happy path, 4xx on bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ROOT_KEY, onboard

OPENAI = {"admin_key": "sk-admin-" + "k3y" * 10}


@pytest.fixture
def two_orgs(client: TestClient) -> tuple[dict[str, str], dict[str, str]]:
    return onboard(client, "Acme Corp"), onboard(client, "Globex Inc")


def test_root_routes_need_the_root_key(client: TestClient) -> None:
    assert client.post("/api/v1/admin/bootstrap").status_code == 401
    wrong = client.post("/api/v1/admin/bootstrap", headers={"X-CA-Root-Key": "nope"})
    assert wrong.status_code == 403 and wrong.json()["type"] == "forbidden"
    first = client.post("/api/v1/admin/bootstrap", headers={"X-CA-Root-Key": ROOT_KEY})
    second = client.post("/api/v1/admin/bootstrap", headers={"X-CA-Root-Key": ROOT_KEY})
    assert first.json()["changed"] is True and second.json()["changed"] is False


def test_onboarding_over_http(client: TestClient) -> None:
    body = onboard(client, "Acme Corp")
    assert body["org_slug"].startswith("acme_corp_") and body["api_key"].startswith("ca_")
    again = client.post("/api/v1/admin/organizations", json={"company_name": "ACME corp"},
                        headers={"X-CA-Root-Key": ROOT_KEY})  # fmt: skip
    assert again.status_code == 409 and again.json()["field"] == "company_name"
    bad_plan = client.post("/api/v1/admin/organizations", json={"company_name": "Initech", "plan": "gold"},
                           headers={"X-CA-Root-Key": ROOT_KEY})  # fmt: skip
    assert bad_plan.status_code == 422 and bad_plan.json()["field"] == "plan"
    missing = client.post("/api/v1/admin/organizations", json={}, headers={"X-CA-Root-Key": ROOT_KEY})
    assert missing.status_code == 422 and missing.json()["field"] == "company_name"
    profile = client.get(f"/api/v1/orgs/{body['org_slug']}", headers={"X-API-Key": body["api_key"]})
    assert profile.status_code == 200 and profile.json()["plan"] == "starter"


def test_key_recovery_is_root_only_and_returns_the_same_key(client: TestClient, two_orgs) -> None:  # noqa: ANN001
    acme, _ = two_orgs
    url = f"/api/v1/admin/organizations/{acme['org_slug']}/api-key/recover"
    assert client.post(url, headers={"X-API-Key": acme["api_key"]}).status_code == 401
    recovered = client.post(url, headers={"X-CA-Root-Key": ROOT_KEY})
    assert recovered.status_code == 200 and recovered.json()["api_key"] == acme["api_key"]
    unknown = client.post("/api/v1/admin/organizations/nobody_here/api-key/recover",
                          headers={"X-CA-Root-Key": ROOT_KEY})  # fmt: skip
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("get", "/integrations", None),
        ("put", "/integrations/openai", OPENAI),
        ("delete", "/integrations/openai", None),
        ("get", "/quotas", None),
    ],
)
def test_org_routes_refuse_missing_invalid_and_other_orgs_keys(
    client: TestClient, two_orgs, method, path, body
) -> None:  # noqa: ANN001
    acme, globex = two_orgs
    url = f"/api/v1/orgs/{acme['org_slug']}{path}"
    kwargs = {"json": body} if body is not None else {}
    assert client.request(method, url, **kwargs).status_code == 401
    assert client.request(method, url, headers={"X-API-Key": "ca_wrong"}, **kwargs).status_code == 401
    other = client.request(method, url, headers={"X-API-Key": globex["api_key"]}, **kwargs)
    assert other.status_code == 403 and acme["org_slug"] not in other.text.replace(url, "")
    # A made-up org with a valid key reads the same as a real one: nothing is revealed.
    ghost = client.request(method, f"/api/v1/orgs/ghost_org_x{path}", headers={"X-API-Key": globex["api_key"]},
                           **kwargs)  # fmt: skip
    assert ghost.status_code == 403 and ghost.json()["detail"] == other.json()["detail"]


def test_integrations_over_http_never_return_the_secret(client: TestClient, two_orgs) -> None:  # noqa: ANN001
    acme, globex = two_orgs
    headers = {"X-API-Key": acme["api_key"]}
    base = f"/api/v1/orgs/{acme['org_slug']}/integrations"
    created = client.put(f"{base}/openai", json=OPENAI, headers=headers)
    assert created.status_code == 200 and OPENAI["admin_key"] not in created.text
    assert created.json()["summary"]["admin_key"].endswith(OPENAI["admin_key"][-4:])
    listed = client.get(base, headers=headers)
    assert [item["provider"] for item in listed.json()["items"]] == ["openai"] and OPENAI[
        "admin_key"
    ] not in listed.text
    other = client.get(f"/api/v1/orgs/{globex['org_slug']}/integrations", headers={"X-API-Key": globex["api_key"]})
    assert other.json()["items"] == []

    bad = client.put(f"{base}/openai", json={"admin_key": "sk-live-notanadminkey-1234567890"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "admin_key" and "notanadminkey" not in bad.text
    unknown = client.put(f"{base}/dropbox", json={"token": "x"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["field"] == "provider"
    assert client.delete(f"{base}/openai", headers=headers).status_code == 204
    assert client.delete(f"{base}/openai", headers=headers).status_code == 404


def test_quota_usage_over_http(client: TestClient, two_orgs) -> None:  # noqa: ANN001
    acme, _ = two_orgs
    usage = client.get(f"/api/v1/orgs/{acme['org_slug']}/quotas", headers={"X-API-Key": acme["api_key"]}).json()
    assert (usage["plan"], usage["pipeline_runs_today"], usage["limit_daily"]) == ("starter", 0, 6)


def test_invalid_slug_in_the_path_is_a_4xx(client: TestClient, two_orgs) -> None:  # noqa: ANN001
    acme, _ = two_orgs
    response = client.get("/api/v1/orgs/bad-slug!", headers={"X-API-Key": acme["api_key"]})
    assert response.status_code == 422 and response.json()["field"] == "org_slug"


def test_the_plans_provider_limit_is_enforced(client: TestClient) -> None:
    created = client.post("/api/v1/admin/organizations", json={"company_name": "Tiny Co", "plan": "free"},
                          headers={"X-CA-Root-Key": ROOT_KEY}).json()  # fmt: skip
    base, headers = f"/api/v1/orgs/{created['org_slug']}/integrations", {"X-API-Key": created["api_key"]}
    assert client.put(f"{base}/openai", json=OPENAI, headers=headers).status_code == 200
    assert client.put(f"{base}/openai", json=OPENAI, headers=headers).status_code == 200  # replacing is fine
    second = client.put(f"{base}/anthropic", json={"admin_key": "sk-ant-admin01-" + "x" * 30}, headers=headers)
    assert second.status_code == 409 and "allows 1 provider" in second.json()["detail"]
