"""SaaS subscriptions into the tenant dataset, where dbt turns them into FOCUS rows.

The subscriptions users enter live in the shared platform table ``organizations.org_subscriptions``. On DuckDB that
table sits in ``platform.duckdb``, a file dbt never opens (it builds in the tenant file), so before a build the org's
rows are copied into the tenant raw table ``{org_slug}_prod.saas_subscriptions``; the staging model
``stg_saas__subscription_charges`` reads that copy.
"""

from __future__ import annotations

from typing import Any

from cloudact.tenancy import tenant_dataset, validate_slug
from cloudact.warehouse import Warehouse

RAW_TABLE = "saas_subscriptions"

# The raw table's columns and DuckDB types, as in ``org_subscriptions`` (warehouse_schema.py): money stays an exact
# DECIMAL(38, 12), dates stay DATE.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("org_slug", "VARCHAR"),
    ("subscription_id", "VARCHAR"),
    ("provider", "VARCHAR"),
    ("plan", "VARCHAR"),
    ("seats", "BIGINT"),
    ("unit_price", "DECIMAL(38, 12)"),
    ("currency", "VARCHAR"),
    ("billing_cycle", "VARCHAR"),
    ("start_date", "DATE"),
    ("end_date", "DATE"),
    ("hierarchy_node_id", "VARCHAR"),
    ("status", "VARCHAR"),
    ("created_at", "TIMESTAMP WITH TIME ZONE"),
    ("updated_at", "TIMESTAMP WITH TIME ZONE"),
)


def sync_subscriptions(warehouse: Warehouse, org_slug: str) -> int:
    """Replace ``{org_slug}_prod.saas_subscriptions`` with the org's current subscriptions.

    One ``create or replace table … as select`` statement: a reader sees the old copy or the new one, never a
    half-written table, and a removed subscription disappears from the copy (and so from the FOCUS rows). An org
    without subscriptions gets an empty table with the same columns, so the dbt model always has its source.

    Args:
        warehouse: The warehouse holding both the platform table and the tenant dataset.
        org_slug: The org whose subscriptions are copied (validated; the only source of the table's identifier).

    Returns:
        The number of subscriptions copied.

    Raises:
        InvalidSlugError: If ``org_slug`` is not a valid slug.
    """
    slug = validate_slug(org_slug)
    names = ", ".join(name for name, _ in COLUMNS)
    rows = warehouse.query(
        f"""select {names} from {warehouse.shared_table("org_subscriptions")}
            where org_slug = @org_slug order by subscription_id""",
        {"org_slug": slug},
    )
    params: dict[str, Any] = {}
    # A typed, empty first branch fixes the column types whatever the rows hold (all-null end dates included).
    selects = ["select " + ", ".join(f"cast(null as {kind}) as {name}" for name, kind in COLUMNS) + " where false"]
    for index, row in enumerate(rows):
        casts = []
        for name, kind in COLUMNS:
            params[f"{name}_{index}"] = row[name]
            casts.append(f"cast(@{name}_{index} as {kind})")
        selects.append("select " + ", ".join(casts))
    warehouse.ensure_dataset(tenant_dataset(slug))
    warehouse.execute_tenant(
        f"create or replace table {tenant_dataset(slug)}.{RAW_TABLE} as\n" + "\nunion all\n".join(selects),
        params,
    )
    return len(rows)
