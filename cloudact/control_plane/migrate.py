"""Apply the control-plane migrations (Alembic, run programmatically so no alembic.ini is needed)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at our migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def current_revision(url: str) -> str | None:
    """The revision the database is at (``None`` when never migrated)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return MigrationContext.configure(con).get_current_revision()
    finally:
        engine.dispose()


def migrate(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the control-plane database to ``revision``; safe to run any number of times.

    Returns:
        ``(revision before, revision after)``.
    """
    before = current_revision(url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as con:
            config = alembic_config()
            config.attributes["connection"] = con
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    return before, current_revision(url)
