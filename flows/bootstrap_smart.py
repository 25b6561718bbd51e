"""``bootstrap_smart`` (one-off): create the shared warehouse dataset, or add what an older one lacks."""

from __future__ import annotations

from prefect import flow, get_run_logger

from cloudact.settings import get_settings
from cloudact.warehouse import get_warehouse


@flow(name="bootstrap_smart")
def bootstrap_smart() -> dict[str, list[str]]:
    """Fresh warehouse: create everything; existing one: add missing tables and columns only."""
    report = get_warehouse(get_settings()).bootstrap()
    get_run_logger().info("bootstrap: %d tables created, %d columns added", len(report.created_tables),
                          len(report.added_columns))  # fmt: skip
    return {"created_tables": report.created_tables, "added_columns": report.added_columns}
