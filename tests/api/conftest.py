"""API fixtures: the real app on a test's own data directory, through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.deps import settings_dep
from api.main import create_app
from cloudact.settings import Settings
from tests.conftest import SAMPLES

ROOT_KEY = "root-key-for-tests-0123456789abcdef"
WEBHOOK_SECRET = "whsec_test_0123456789"
PRICE_PLANS = {"price_starter": "starter", "price_pro": "professional", "price_scale": "scale"}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        data_dir=tmp_path / "data",
        samples_dir=SAMPLES,
        root_api_key=SecretStr(ROOT_KEY),
        stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        stripe_price_plans=PRICE_PLANS,
    )


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[settings_dep] = lambda: api_settings
    with TestClient(app) as test_client:
        yield test_client


def onboard(client: TestClient, name: str) -> dict[str, str]:
    """Onboard a company through the API and return the response body (with its key)."""
    response = client.post("/api/v1/admin/organizations", json={"company_name": name},
                           headers={"X-CA-Root-Key": ROOT_KEY})  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()
