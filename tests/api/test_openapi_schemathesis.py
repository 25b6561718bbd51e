"""Schemathesis over the whole OpenAPI document: no 5xx, and every response matches its documented schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.deps import settings_dep
from api.main import create_app
from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse
from tests.api.conftest import PRICE_PLANS, ROOT_KEY, WEBHOOK_SECRET
from tests.conftest import SAMPLES

# The schema is loaded at import (schemathesis parametrises from it), so this module owns a data directory.
_DATA = Path(tempfile.mkdtemp(prefix="cloudact-schemathesis-"))
SETTINGS = Settings(  # type: ignore[call-arg]
    _env_file=None, environment="test", data_dir=_DATA / "data", samples_dir=SAMPLES,
    root_api_key=SecretStr(ROOT_KEY), stripe_webhook_secret=SecretStr(WEBHOOK_SECRET), stripe_price_plans=PRICE_PLANS,
    pipeline_wait_seconds=1,
)  # fmt: skip
# A real org for the generated requests to act on (the free plan bounds the pipeline runs they may start).
ORG = onboard_org(
    get_control_plane(SETTINGS), get_warehouse(SETTINGS), get_keyring(SETTINGS), "Schemathesis Co", "free"
)
# What this test promises: no 5xx, every status documented, every body and content type as documented. (Checks on
# business-rule rejections of schema-valid input, e.g. end before start, belong to the route tests.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
app = create_app()
app.dependency_overrides[settings_dep] = lambda: SETTINGS
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])  # fmt: skip
def test_no_server_errors_and_responses_match_the_schema(case: schemathesis.Case) -> None:
    if "org_slug" in (case.path_parameters or {}) and case.path.startswith("/api/v1/orgs/"):
        case.path_parameters["org_slug"] = ORG.org_slug  # reach the handlers, not only the auth check
    case.call_and_validate(headers={"X-API-Key": ORG.api_key, "X-CA-Root-Key": ROOT_KEY}, checks=CHECKS)
