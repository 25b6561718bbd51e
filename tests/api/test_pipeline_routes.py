"""Pipeline routes without a Prefect server: the run is admitted, runs in-process, and is recorded the same way."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from cloudact.control_plane import get_control_plane
from cloudact.integrations import set_integration
from cloudact.keyring import get_keyring
from cloudact.pipeline_trigger import wait_in_process
from cloudact.quotas import admit_pipeline_run, finish_pipeline_run
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse
from tests.api.conftest import ROOT_KEY, onboard
from tests.conftest import AWS_SAMPLE


@pytest.fixture
def acme(client: TestClient, api_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    org = onboard(client, "Acme Corp")
    folder = api_settings.resolved_data_dir / "exports"
    folder.mkdir(parents=True)
    shutil.copy(AWS_SAMPLE, folder)
    set_integration(get_warehouse(api_settings), get_keyring(api_settings), org["org_slug"], "aws",
                    {"export_path": str(folder)})  # fmt: skip
    return org


def test_trigger_runs_in_process_and_the_run_is_readable(client: TestClient, acme: dict[str, str]) -> None:
    base, headers = f"/api/v1/orgs/{acme['org_slug']}/pipelines/runs", {"X-API-Key": acme["api_key"]}
    started = client.post(base, json={"providers": ["aws"]}, headers=headers)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["mode"] == "in_process" and body["flow_run_id"] is None
    wait_in_process(body["run_id"], timeout=120)
    run = client.get(f"{base}/{body['run_id']}", headers=headers).json()
    assert run["status"] == "succeeded" and run["rows_loaded"]["aws"] > 1000 and run["trigger"] == "api"
    assert any(line["message"].startswith("dbt build") for line in run["logs"])
    history = client.get(base, headers=headers, params={"limit": 1}).json()
    assert [item["run_id"] for item in history["items"]] == [body["run_id"]] and history["limit"] == 1


def test_trigger_beyond_the_daily_limit_is_429_naming_the_limit(
    client: TestClient, api_settings: Settings, acme: dict[str, str]
) -> None:
    base, headers = f"/api/v1/orgs/{acme['org_slug']}/pipelines/runs", {"X-API-Key": acme["api_key"]}
    org = get_control_plane(api_settings).get_org(acme["org_slug"])
    warehouse = get_warehouse(api_settings)
    for _ in range(org.limit_pipeline_runs_daily):
        finish_pipeline_run(warehouse, org.org_slug, admit_pipeline_run(warehouse, org, "all", "api"), "succeeded")
    refused = client.post(base, headers=headers)
    assert refused.status_code == 429
    assert refused.json()["type"] == "quota_exceeded" and refused.json()["field"] == "pipeline_runs_daily"
    assert "resets at" in refused.json()["detail"] and int(refused.headers["Retry-After"]) > 0


def test_bad_input_and_foreign_keys(client: TestClient, acme: dict[str, str]) -> None:
    other = onboard(client, "Globex Inc")
    base, headers = f"/api/v1/orgs/{acme['org_slug']}/pipelines/runs", {"X-API-Key": acme["api_key"]}
    bad = client.post(base, json={"providers": ["dropbox"]}, headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "providers"
    empty = client.post(base, json={"providers": []}, headers=headers)
    assert empty.status_code == 422 and empty.json()["field"] == "providers"
    assert client.post(base, headers={"X-API-Key": other["api_key"]}).status_code == 403
    assert client.get(base, headers={"X-API-Key": other["api_key"]}).status_code == 403
    assert client.post(base).status_code == 401
    assert client.get(f"{base}/no-such-run", headers=headers).status_code == 404
    assert client.get(base, headers=headers, params={"limit": 0}).status_code == 422
    assert client.post("/api/v1/admin/bootstrap", headers={"X-CA-Root-Key": ROOT_KEY}).status_code == 200
