"""Data versions per org: a completed pipeline run bumps its org's version, and read caches key on it.

The version lives in the warehouse (``organizations.org_data_versions``) so that an API process learns of a run that
completed in a Prefect worker process; :func:`invalidate` also clears this process's own cache at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cloudact.settings import Settings
from cloudact.tenancy import validate_slug
from cloudact.warehouse import Warehouse

# Caches living in this process register a callback here (the API's Polars cache does).
_LISTENERS: list[Callable[[str], None]] = []


def on_invalidate(callback: Callable[[str], None]) -> None:
    """Call ``callback(org_slug)`` whenever an org's data changes in this process."""
    _LISTENERS.append(callback)


def notify_changed(org_slug: str) -> None:
    """Drop this process's cached reads of an org whose read inputs changed (e.g. its hierarchy rules)."""
    for callback in _LISTENERS:
        callback(validate_slug(org_slug))


def data_version(warehouse: Warehouse, org_slug: str) -> int:
    """The org's current data version (0 before its first completed run)."""
    rows = warehouse.query(
        f"select data_version from {warehouse.shared_table('org_data_versions')} where org_slug = @org_slug",
        {"org_slug": validate_slug(org_slug)},
    )
    return int(rows[0]["data_version"]) if rows else 0


def invalidate(warehouse: Warehouse, org_slug: str, settings: Settings | None = None) -> int:
    """Publish the org's new data: a read snapshot (DuckDB), then the bumped data version; returns the version.

    The snapshot is written before the version moves, so a reader that sees the new version finds its snapshot.
    """
    from cloudact.snapshots import publish_snapshot

    slug = validate_slug(org_slug)
    if settings is not None:
        publish_snapshot(settings, warehouse, slug, data_version(warehouse, slug) + 1)
    table = warehouse.shared_table("org_data_versions")
    with warehouse.transaction() as sql:
        rows = sql.query(f"select data_version from {table} where org_slug = @org_slug", {"org_slug": slug})
        version = (int(rows[0]["data_version"]) if rows else 0) + 1
        params = {"org_slug": slug, "version": version, "now": datetime.now(UTC)}
        if rows:
            sql.execute(f"update {table} set data_version = @version, updated_at = @now where org_slug = @org_slug",
                        params)  # fmt: skip
        else:
            sql.execute(f"insert into {table} values (@org_slug, @version, @now)", params)
    for callback in _LISTENERS:
        callback(slug)
    return version
