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
    node_ids: tuple[str, ...] = ()  # the unique ids of the nodes this build ran (models, seeds, tests)


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
        # No target/manifest.json, run_results.json or graph.gpickle per run (dbt's own variable; set it to true to
        # keep them): each org's build would overwrite the last org's, writing them is ~0.5 s of a build, and the
        # outcome is in the run's result (TransformResult, the run records). dbt's partial-parse file is kept.
        "DBT_WRITE_JSON": os.environ.get("DBT_WRITE_JSON", "false"),
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


@dataclass(frozen=True)
class BuildState:
    """What the org's last build left in its dataset (``focus_build_state``, written by the FOCUS model's post-hook)."""

    current: bool  # built by this very project (focus_fingerprint), every period included
    rawless: frozenset[str]  # the staging models that had no raw table then (built as empty relations)


def _build_state(warehouse: Any, org_slug: str, existing: set[str]) -> BuildState:
    if "focus_build_state" not in existing:
        return BuildState(False, frozenset())
    rows = warehouse.query_tenant(f"select * from {org_slug}_prod.focus_build_state")
    if len(rows) != 1:
        return BuildState(False, frozenset())
    rawless = frozenset((rows[0].get("rawless_models") or "").split())
    return BuildState(rows[0]["fingerprint"] == focus_fingerprint(), rawless)


def _rawless_models(manifest: Any, existing: set[str]) -> set[str]:
    """Staging models none of whose raw tables exist in the org's dataset: empty relations (``pinned_source``)."""
    rawless = set()
    for node in manifest.nodes.values():
        if node.resource_type != "model":
            continue
        parents = list(node.depends_on.nodes)
        raw = [parent for parent in parents if parent.startswith("source.")]
        if raw and all(parent.startswith(("source.", "seed.")) for parent in parents):
            if not any(manifest.sources[parent].identifier.lower() in existing for parent in raw):
                rawless.add(node.name)
    return rawless


def _needless_nodes(manifest: Any, existing: set[str], state: BuildState) -> list[str]:
    """Names of the nodes an org's build can leave out because they cannot change or reveal anything.

    - The data tests of staging models without raw tables (``_rawless_models``): an empty relation cannot fail one.
      An org with AWS only skips the other providers' tests.
    - Those staging views themselves, when the org's last build was made by this very project with the same models
      raw-less: the view in the dataset is already that empty relation.
    - The seeds, when the last build was made by this very project (``focus_fingerprint`` covers the seed files) and
      every seed table is there: reloading them would write the same rows. Their own tests go with them.
    """
    nodes = manifest.nodes
    rawless = _rawless_models(manifest, existing)
    needless = [name for name in rawless if state.current and name in state.rawless and name.lower() in existing]
    seeds = {unique_id for unique_id, node in nodes.items() if node.resource_type == "seed"}
    skip_seeds = state.current and all(nodes[seed].alias.lower() in existing for seed in seeds)
    needless += [nodes[seed].name for seed in seeds] if skip_seeds else []
    for node in nodes.values():
        if node.resource_type != "test":
            continue
        parents = list(node.depends_on.nodes)
        models = [nodes[parent].name for parent in parents if parent.startswith("model.")]
        if models and all(model in rawless for model in models):
            needless.append(node.name)
        elif skip_seeds and parents and all(parent in seeds for parent in parents):
            needless.append(node.name)
    return sorted(needless)


def transform_org(
    settings: Settings, org_slug: str, reuse_manifest: bool = True, full_refresh: bool = False
) -> TransformResult:
    """``dbt build`` (seeds, models, tests) for one org into ``{org_slug}_prod``.

    With ``reuse_manifest`` the project is parsed once per process and the parsed manifest reused for every org,
    and the nodes that cannot change anything for this org are left out (``_needless_nodes``).
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
    with warehouse.session():  # one connection per file for the steps before dbt
        if settings.warehouse == "duckdb":
            warehouse.bootstrap()  # a warehouse set up by hand (no onboarding) still has the shared tables
        sync_subscriptions(warehouse, org_slug)
        existing = warehouse.dataset_tables(f"{org_slug}_prod")
        state = _build_state(warehouse, org_slug, existing)
    # A FOCUS table built by another version of the project is rebuilt whole either way (every period listed as new):
    # as a full refresh, one statement writes it, instead of a delete of every row and an insert of every row through
    # a temporary table (at 10M rows 45 s instead of 85 s, and less memory).
    full_refresh = full_refresh or ("cost_data_standard_1_3" in existing and not state.current)
    variables = {"org_slug": org_slug, "focus_fingerprint": focus_fingerprint()}
    if reuse_manifest:
        with _MANIFEST_LOCK:  # the shared manifest points at one org at a time
            manifest = _point_manifest_at(_parsed_manifest(settings), org_slug)
            variables["focus_rawless"] = " ".join(sorted(_rawless_models(manifest, existing)))
            args = ["build", "--vars", json.dumps(variables)]
            needless = set() if full_refresh else set(_needless_nodes(manifest, existing, state))
            every = manifest.nodes
            # Needless tests leave the manifest for this build and come back after it: dbt's --exclude costs a search
            # of the whole graph per name (0.6 s for ~300 names). Models and seeds stay (others depend on them):
            # they are excluded by name, only them (no indirect exclusion of the tests of kept nodes).
            manifest.nodes = {
                unique_id: node
                for unique_id, node in every.items()
                if node.resource_type != "test" or node.name not in needless
            }
            excluded = sorted(node.name for node in manifest.nodes.values() if node.name in needless)
            if excluded:
                args += ["--exclude", " ".join(excluded), "--indirect-selection", "empty"]
            try:
                result = run_dbt(settings, [*args, "--full-refresh"] if full_refresh else args, manifest)
            finally:
                manifest.nodes = every
    else:
        args = ["build", "--vars", json.dumps(variables)]
        result = run_dbt(settings, [*args, "--full-refresh"] if full_refresh else args)
    if result.exception is not None:
        raise TransformError(f"dbt build for {org_slug} failed: {result.exception}")
    failures = [
        f"{item.node.unique_id}: {item.status}: {(item.message or '').strip()}"
        for item in result.result or []
        if str(item.status) in ("error", "fail", "runtime error")
    ]
    if failures or not result.success:
        raise TransformError(f"dbt build for {org_slug} failed:\n  " + "\n  ".join(failures or ["unknown error"]))
    node_ids = tuple(item.node.unique_id for item in result.result or [])
    return TransformResult(org_slug, len(node_ids), node_ids)
