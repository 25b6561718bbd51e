"""SaaS subscriptions into the tenant dataset, where dbt turns them into FOCUS rows.

The subscriptions users enter live in the shared platform table ``organizations.org_subscriptions``. On DuckDB that
table sits in ``platform.duckdb``, a file dbt never opens (it builds in the tenant file), so before a build the org's
rows are copied into the tenant raw table ``{org_slug}_prod.saas_subscriptions``; the staging model
``stg_saas__subscription_charges`` reads that copy. Spend agreements (``org_spend_agreements`` and their monthly
``org_spend_agreement_usage``) are copied alongside, for ``stg_saas__spend_agreement_charges``.
"""

from __future__ import annotations

from typing import Any

from cloudact.tenancy import tenant_dataset, validate_slug
from cloudact.warehouse import Warehouse
from cloudact.warehouse_schema import SHARED_TABLES

RAW_TABLE = "saas_subscriptions"

# Each raw copy has the columns and neutral types of its platform table (warehouse_schema.py): money stays an exact
# decimal, dates stay dates.
COLUMNS = SHARED_TABLES["org_subscriptions"]
AGREEMENTS_RAW_TABLE = "saas_spend_agreements"
AGREEMENT_COLUMNS = SHARED_TABLES["org_spend_agreements"]
USAGE_RAW_TABLE = "saas_spend_agreement_usage"
USAGE_COLUMNS = SHARED_TABLES["org_spend_agreement_usage"]


def _copy(warehouse: Warehouse, slug: str, shared: str, raw: str, columns: tuple[tuple[str, str], ...]) -> int:
    """Replace ``{slug}_prod.{raw}`` with the org's rows of the platform table ``shared``, in one statement."""
    names = ", ".join(name for name, _ in columns)
    rows = warehouse.query(
        f"select {names} from {warehouse.shared_table(shared)} where org_slug = @org_slug order by {columns[1][0]}",
        {"org_slug": slug},
    )
    params: dict[str, Any] = {}
    # The warehouse's own names for the neutral types (DECIMAL(38, 12) on DuckDB, NUMERIC on BigQuery...).
    types = {name: warehouse.SQL_TYPES[kind] for name, kind in columns}
    # A typed, empty first branch fixes the column types whatever the rows hold (all-null end dates included).
    selects = ["select " + ", ".join(f"cast(null as {types[name]}) as {name}" for name, _ in columns) + " where false"]
    for index, row in enumerate(rows):
        casts = []
        for name, _ in columns:
            params[f"{name}_{index}"] = row[name]
            casts.append(f"cast(@{name}_{index} as {types[name]})")
        selects.append("select " + ", ".join(casts))
    warehouse.ensure_dataset(tenant_dataset(slug))
    warehouse.execute_tenant(
        f"create or replace table {tenant_dataset(slug)}.{raw} as\n" + "\nunion all\n".join(selects),
        params,
    )
    return len(rows)


def sync_subscriptions(warehouse: Warehouse, org_slug: str) -> int:
    """Replace ``{org_slug}_prod.saas_subscriptions`` with the org's current subscriptions (and the spend agreements).

    One ``create or replace table … as select`` statement per table: a reader sees the old copy or the new one, never
    a half-written table, and a removed subscription disappears from the copy (and so from the FOCUS rows). An org
    without subscriptions gets an empty table with the same columns, so the dbt model always has its source. The
    org's spend agreements and their monthly usage are copied the same way (``sync_agreements``), so the one call
    the build makes refreshes every SaaS input.

    Args:
        warehouse: The warehouse holding both the platform table and the tenant dataset.
        org_slug: The org whose subscriptions are copied (validated; the only source of the table's identifier).

    Returns:
        The number of subscriptions copied.

    Raises:
        InvalidSlugError: If ``org_slug`` is not a valid slug.
    """
    slug = validate_slug(org_slug)
    copied = _copy(warehouse, slug, "org_subscriptions", RAW_TABLE, COLUMNS)
    sync_agreements(warehouse, slug)
    return copied


def sync_agreements(warehouse: Warehouse, org_slug: str) -> tuple[int, int]:
    """Replace ``{org_slug}_prod.saas_spend_agreements`` and ``…_usage`` with the org's agreements and usage.

    Returns:
        The numbers of agreements and of usage months copied.

    Raises:
        InvalidSlugError: If ``org_slug`` is not a valid slug.
    """
    slug = validate_slug(org_slug)
    agreements = _copy(warehouse, slug, "org_spend_agreements", AGREEMENTS_RAW_TABLE, AGREEMENT_COLUMNS)
    usage = _copy(warehouse, slug, "org_spend_agreement_usage", USAGE_RAW_TABLE, USAGE_COLUMNS)
    return agreements, usage
