"""Run the dbt project for one tenant, in-process (dbtRunner)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cloudact.settings import REPO_ROOT, Settings
from cloudact.tenancy import validate_slug


class TransformError(RuntimeError):
    """dbt failed; the message names every failed node and its error."""


@dataclass(frozen=True)
class TransformResult:
    """Outcome of one tenant build."""

    org_slug: str
    nodes: int


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment for dbt: the same warehouse file, and dbt's own files under the data directory."""
    data_dir = settings.ensure_data_dir()
    return {
        "CLOUDACT_DUCKDB_PATH": str(settings.resolved_duckdb_path),
        "CLOUDACT_DATA_DIR": str(data_dir),
        "DBT_TARGET_PATH": str(data_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


def run_dbt(settings: Settings, args: list[str]) -> Any:
    """Invoke dbt in-process with the project at the repo root; returns the dbtRunnerResult."""
    from dbt.cli.main import dbtRunner

    env = dbt_env(settings)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        target = "bigquery" if settings.warehouse == "bigquery" else "local"
        return dbtRunner().invoke(
            [*args, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT), "--target", target, "--quiet"]
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def transform_org(settings: Settings, org_slug: str) -> TransformResult:
    """``dbt build`` (seeds, models, tests) for one org into ``{org_slug}_prod``.

    Raises:
        TransformError: If any node fails or errors.
    """
    validate_slug(org_slug)
    result = run_dbt(settings, ["build", "--vars", json.dumps({"org_slug": org_slug})])
    if result.exception is not None:
        raise TransformError(f"dbt build for {org_slug} failed: {result.exception}")
    failures = [
        f"{item.node.unique_id}: {item.status}: {(item.message or '').strip()}"
        for item in result.result or []
        if str(item.status) in ("error", "fail", "runtime error")
    ]
    if failures or not result.success:
        raise TransformError(f"dbt build for {org_slug} failed:\n  " + "\n  ".join(failures or ["unknown error"]))
    return TransformResult(org_slug, len(result.result or []))
