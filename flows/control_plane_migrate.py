"""``control_plane_migrate`` (one-off): apply the control-plane migrations."""

from __future__ import annotations

from prefect import flow, get_run_logger

from cloudact.control_plane.migrate import migrate
from cloudact.settings import get_settings


@flow(name="control_plane_migrate")
def control_plane_migrate() -> str | None:
    """Upgrade the control-plane database to the newest revision; returns it."""
    settings = get_settings()
    if settings.control_plane == "sqlite":
        settings.ensure_data_dir()
    before, after = migrate(settings.resolved_database_url)
    get_run_logger().info("control plane: %s → %s", before or "empty", after)
    return after
