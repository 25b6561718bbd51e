"""The dbt project: every model compiles for BigQuery offline, and the tenant var is validated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudact.bq_sql_check import check_bigquery_sql
from cloudact.settings import REPO_ROOT, Settings
from cloudact.transform import TransformError, run_dbt, transform_org

DBT = str(Path(sys.executable).parent / "dbt")


def _fake_service_account(path: Path) -> Path:
    """A well-formed service-account keyfile with a real RSA key: needs no network to build credentials."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "cloudact-offline",
                "private_key_id": "0" * 40,
                "private_key": pem,
                "client_email": "dbt@cloudact-offline.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )  # fmt: skip
    )
    return path


@pytest.fixture(scope="module")
def bigquery_compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bq")
    target = tmp / "target"
    env = {
        **os.environ,
        "CLOUDACT_BQ_KEYFILE": str(_fake_service_account(tmp / "sa.json")),
        "CLOUDACT_BQ_PROJECT": "cloudact-offline",
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(tmp / "logs"),
        "DO_NOT_TRACK": "1",
    }
    run = subprocess.run(
        [DBT, "compile", "--target", "bigquery", "--no-populate-cache", "--profiles-dir", str(REPO_ROOT),
         "--project-dir", str(REPO_ROOT), "--vars", "{org_slug: some_org, offline_compile: true}"],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO_ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return target / "compiled" / "cloudact"


def test_every_model_compiles_to_strict_bigquery_sql(bigquery_compiled: Path) -> None:
    models = [
        path for path in (bigquery_compiled / "dbt_project" / "models").rglob("*.sql")
        if not path.parent.name.endswith(".yml")
    ]  # fmt: skip
    names = {path.stem for path in models}
    assert {"stg_aws__cost_line_items", "stg_openai__costs", "cost_data_standard_1_3"} <= names
    problems = {path.stem: check_bigquery_sql(path.read_text()) for path in models}
    assert {name: found for name, found in problems.items() if found} == {}


def test_bigquery_models_use_exact_numeric_types_and_the_tenant_dataset(bigquery_compiled: Path) -> None:
    models = bigquery_compiled / "dbt_project" / "models"
    focus = (models / "focus_1_3" / "cost_data_standard_1_3.sql").read_text()
    assert "decimal(38" not in focus.lower()
    assert "`some_org_prod`.`stg_aws__cost_line_items`" in focus
    assert "`some_org_prod`.`openai_costs`" in (models / "staging" / "openai" / "stg_openai__costs.sql").read_text()
    aws = (models / "staging" / "aws" / "stg_aws__cost_line_items.sql").read_text()
    assert "bignumeric" in aws.lower() and "decimal(38" not in aws.lower()
    assert "`some_org_prod`.`aws_cur_line_items`" in aws


def test_data_tests_compile_to_strict_bigquery_sql(bigquery_compiled: Path) -> None:
    # dbt writes a test's compiled SQL under a folder named after the YAML file that declares it.
    tests = [path for path in bigquery_compiled.rglob("*.sql") if path.parent.name.endswith(".yml")]
    assert any(path.stem.startswith("focus_list_cost_is_unit_price_times_quantity") for path in tests)
    problems = {path.stem: check_bigquery_sql(path.read_text()) for path in tests}
    assert tests and {name: found for name, found in problems.items() if found} == {}


@pytest.mark.parametrize("slug", ["x;drop", "ab", "acme-corp"])
def test_invalid_org_slug_var_fails_before_any_sql(settings: Settings, slug: str) -> None:
    result = run_dbt(settings, ["parse", "--vars", json.dumps({"org_slug": slug})])
    assert not result.success
    assert "invalid org_slug" in str(result.exception)


def test_transform_rejects_invalid_slug_in_python_too(settings: Settings) -> None:
    with pytest.raises(ValueError, match="invalid org slug"):
        transform_org(settings, "bad slug")
    assert TransformError  # the dbt failure type callers catch


def test_dbt_artifacts_are_written_when_dbt_write_json_is_set(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CloudAct's runs leave out target/manifest.json and run_results.json unless the operator asks (dbt_env).
    target = settings.resolved_data_dir / "dbt" / "target"
    monkeypatch.setenv("DBT_WRITE_JSON", "true")
    assert run_dbt(settings, ["parse", "--vars", json.dumps({"org_slug": "acme_corp"})]).success
    assert (target / "manifest.json").exists()
    assert os.environ["DBT_WRITE_JSON"] == "true"  # the operator's value is left as it was
    (target / "manifest.json").unlink()
    monkeypatch.delenv("DBT_WRITE_JSON")
    assert run_dbt(settings, ["parse", "--vars", json.dumps({"org_slug": "acme_corp"})]).success
    assert (target / "partial_parse.msgpack").exists() and not (target / "manifest.json").exists()
