"""``org_sync_all`` (one-off): bring every org's dataset to the current schema (dataset, then dbt build)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from cloudact.control_plane import iter_orgs
from cloudact.read_cache import invalidate
from cloudact.tenancy import tenant_dataset
from flows._runtime import runtime
from flows.org_pipeline import dbt_build_task


@flow(name="org_sync_all")
def org_sync_all() -> dict[str, str]:
    """Ensure each org's dataset exists and rebuild its dbt models from the raw data already loaded."""
    logger = get_run_logger()
    rt = runtime()
    rt.warehouse.bootstrap()
    results: dict[str, str] = {}
    for org in iter_orgs(rt.control_plane):
        rt.warehouse.ensure_dataset(tenant_dataset(org.org_slug))
        try:
            results[org.org_slug] = f"{dbt_build_task(org.org_slug)} nodes"
            invalidate(rt.warehouse, org.org_slug, rt.settings)
        except Exception as exc:
            logger.error("%s: %s", org.org_slug, exc)
            results[org.org_slug] = f"failed: {exc}"
    return results
