"""Run the dbt project for one tenant, in-process (dbtRunner)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
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
        "CLOUDACT_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "CLOUDACT_DATA_DIR": str(data_dir),
        "DBT_TARGET_PATH": str(data_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        # The BigQuery targets read these (profiles.yml): a Settings object, not only the environment, decides.
        "CLOUDACT_BQ_PROJECT": settings.bq_project or "",
        "CLOUDACT_BQ_LOCATION": settings.bq_location,
        "CLOUDACT_BQ_KEYFILE": str(settings.bq_keyfile or ""),
        "CLOUDACT_BQ_API_ENDPOINT": settings.bq_api_endpoint or "",
        "CLOUDACT_BQ_MAX_BYTES_BILLED": str(settings.bq_max_bytes_billed or 0),
    }


def dbt_target(settings: Settings) -> str:
    """The profiles.yml target: ``local`` (DuckDB), ``bigquery``, or ``emulator`` (BigQuery with an API endpoint)."""
    if settings.warehouse != "bigquery":
        return "local"
    return "emulator" if settings.bq_api_endpoint else "bigquery"


# The manifest is parsed once per process and target with this placeholder tenant, then pointed at each org by
# rewriting the tenant schema on its nodes and sources: a build then skips dbt's parse (about 2.5 s per org).
TEMPLATE_SLUG = "cloudact_template"
_MANIFESTS: dict[tuple[str, str], list[Any]] = {}
_MANIFEST_LOCK = threading.Lock()


def run_dbt(settings: Settings, args: list[str], manifest: Any = None) -> Any:
    """Invoke dbt in-process with the project at the repo root; returns the dbtRunnerResult."""
    from dbt.cli.main import dbtRunner

    env = dbt_env(settings)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        target = dbt_target(settings)
        return dbtRunner(manifest=manifest).invoke(
            [*args, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT), "--target", target, "--quiet"]
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if settings.warehouse == "duckdb":
            _release_duckdb()


def _release_duckdb() -> None:
    """Close the warehouse file dbt-duckdb keeps open after a run, so other processes can write it again."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def _point_manifest_at(entry: list[Any], org_slug: str) -> Any:
    manifest, current = entry
    # A build compiles nodes in place (ephemeral CTEs injected, SQL rendered for the last org): start clean.
    for node in manifest.nodes.values():
        if hasattr(node, "compiled"):
            node.compiled, node.compiled_code = False, None
            node.extra_ctes_injected, node.extra_ctes = False, []
    old, new = f"{current}_prod", f"{org_slug}_prod"
    if old != new:
        for node in (*manifest.nodes.values(), *manifest.sources.values()):
            if getattr(node, "schema", None) == old:
                node.schema = new
            relation = getattr(node, "relation_name", None)
            if relation and (f'"{old}"' in relation or f"`{old}`" in relation):  # DuckDB / BigQuery quoting
                node.relation_name = relation.replace(f'"{old}"', f'"{new}"').replace(f"`{old}`", f"`{new}`")
        entry[1] = org_slug
    return manifest


def _parsed_manifest(settings: Settings) -> list[Any]:
    key = (settings.warehouse, str(settings.resolved_duckdb_path))
    if key not in _MANIFESTS:
        result = run_dbt(settings, ["parse", "--vars", json.dumps({"org_slug": TEMPLATE_SLUG})])
        if not result.success or result.result is None:
            raise TransformError(f"dbt parse failed: {result.exception}")
        _MANIFESTS[key] = [result.result, TEMPLATE_SLUG]
    return _MANIFESTS[key]


@functools.cache
def focus_fingerprint() -> str:
    """SHA-256 over the files that decide FOCUS rows: dbt_project.yml and the models, macros and seeds.

    The FOCUS table remembers the fingerprint of the project that built it; a build with another one (an upgrade, a
    changed service-category seed) rebuilds every billing period instead of only the re-delivered ones.
    """
    digest = hashlib.sha256()
    files = [REPO_ROOT / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds"):
        files.extend(sorted(path for path in (REPO_ROOT / "dbt_project" / folder).rglob("*") if path.is_file()))
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def transform_org(
    settings: Settings, org_slug: str, reuse_manifest: bool = True, full_refresh: bool = False
) -> TransformResult:
    """``dbt build`` (seeds, models, tests) for one org into ``{org_slug}_prod``.

    With ``reuse_manifest`` the project is parsed once per process and the parsed manifest reused for every org.
    The FOCUS table is incremental: only the billing periods whose raw data changed are rebuilt, unless
    ``full_refresh`` (or a changed project, see ``focus_fingerprint``) rebuilds all of them.

    Raises:
        TransformError: If any node fails or errors.
    """
    validate_slug(org_slug)
    from cloudact.saas import sync_subscriptions
    from cloudact.warehouse import get_warehouse

    # The org's SaaS subscriptions and agreements live in the shared dataset (on DuckDB, the platform file, which dbt
    # cannot see): copy them to its dataset, where the staging models read them.
    warehouse = get_warehouse(settings)
    if settings.warehouse == "duckdb":
        warehouse.bootstrap()  # a warehouse set up by hand (no onboarding) still has the shared tables
    sync_subscriptions(warehouse, org_slug)
    args = ["build", "--vars", json.dumps({"org_slug": org_slug, "focus_fingerprint": focus_fingerprint()})]
    if full_refresh:
        args.append("--full-refresh")
    if reuse_manifest:
        with _MANIFEST_LOCK:  # the shared manifest points at one org at a time
            result = run_dbt(settings, args, _point_manifest_at(_parsed_manifest(settings), org_slug))
    else:
        result = run_dbt(settings, args)
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
