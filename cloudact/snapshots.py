"""Read snapshots of each org's FOCUS table: what the API reads, so reads never wait on a pipeline's writes.

After a successful build the pipeline writes ``<data_dir>/snapshots/<org_slug>/focus_v<N>.parquet`` (to a temp name,
then renamed into place) and then points ``CURRENT`` at it (again a rename, so readers see the old or the new file,
never a half-written one). While a pipeline writes the org's tables, readers keep the previous snapshot: the last
good data. The version number is the org's data version, which read caches key on.
"""

from __future__ import annotations

import os
from pathlib import Path

from cloudact.settings import Settings
from cloudact.tenancy import tenant_dataset, validate_slug
from cloudact.warehouse import FOCUS_TABLE, DuckDBWarehouse, Warehouse

KEEP = 2  # the current snapshot and the one before it (a read may still be scanning it)


def snapshot_dir(settings: Settings, org_slug: str) -> Path:
    """The folder of an org's snapshots."""
    return settings.resolved_data_dir / "snapshots" / validate_slug(org_slug)


def current_snapshot(settings: Settings, org_slug: str) -> tuple[int, Path] | None:
    """``(version, parquet file)`` of the org's current snapshot, or ``None`` before its first build."""
    folder = snapshot_dir(settings, org_slug)
    try:
        name = (folder / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return int(name.removeprefix("focus_v").removesuffix(".parquet")), folder / name


def publish_snapshot(settings: Settings, warehouse: Warehouse, org_slug: str, version: int) -> Path | None:
    """Write the org's FOCUS table as snapshot ``version`` and make it current.

    On BigQuery the snapshot holds only the columns the API reads, fetched once per build as Arrow
    (``BigQueryWarehouse.write_read_snapshot``); dashboard reads then scan nothing in BigQuery.
    """
    slug = validate_slug(org_slug)
    folder = snapshot_dir(settings, slug)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"focus_v{version}.parquet"
    partial = folder / f".focus_v{version}.parquet.tmp"
    table = f"{tenant_dataset(slug)}.{FOCUS_TABLE}"
    if not isinstance(warehouse, DuckDBWarehouse):
        if not warehouse.write_read_snapshot(slug, partial):  # type: ignore[attr-defined]
            return None
        return _make_current(folder, partial, target)
    with warehouse.connect() as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [tenant_dataset(slug), FOCUS_TABLE],
        ).fetchone()
        if not exists or not exists[0]:
            return None
        path = str(partial).replace("'", "''")
        con.execute(f"copy (select * from {table}) to '{path}' (format parquet, compression zstd)")
    return _make_current(folder, partial, target)


def _make_current(folder: Path, partial: Path, target: Path) -> Path:
    os.replace(partial, target)
    pointer = folder / ".CURRENT.tmp"
    pointer.write_text(target.name)
    os.replace(pointer, folder / "CURRENT")
    snapshots = sorted(folder.glob("focus_v*.parquet"), key=lambda p: int(p.stem.removeprefix("focus_v")))
    for old in snapshots[:-KEEP]:
        old.unlink(missing_ok=True)
    return target
