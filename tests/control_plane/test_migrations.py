"""Versioned migrations: fresh databases, the first release's database, and Postgres-only row-level security."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from cloudact.control_plane.migrate import current_revision, migrate
from cloudact.control_plane.schema import MIGRATION_HEAD
from cloudact.control_plane.sql_store import SqlControlPlane
from tests.control_plane.conftest import psycopg_dsn


def test_fresh_sqlite_migrates_to_head_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    assert migrate(url) == (None, MIGRATION_HEAD)
    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert {"organizations", "organization_members", "plan_change_audit", "stripe_events"} <= tables
    assert migrate(url) == (MIGRATION_HEAD, MIGRATION_HEAD)


def test_the_first_releases_database_is_adopted_without_losing_orgs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as con:  # the table exactly as release 1 created it (metadata.create_all, no migrations)
        con.execute(
            sa.text("""create table organizations (
            org_slug varchar(50) primary key, company_name varchar(200) not null,
            company_key varchar(50) not null unique, plan varchar(30) default 'starter' not null,
            status varchar(20) default 'active' not null, created_at datetime not null)""")
        )
        con.execute(sa.text("insert into organizations values ('acme_old1', 'Acme', 'acme', 'starter', 'active', "
                            "'2026-11-20 10:00:00.000000')"))  # fmt: skip
    assert current_revision(url) is None
    migrate(url)
    org = SqlControlPlane(url).get_org("acme_old1")
    assert (org.company_name, org.plan, org.limit_pipeline_runs_daily) == ("Acme", "starter", 6)
    assert org.created_at == datetime(2026, 11, 20, 10, tzinfo=UTC) == org.updated_at
    assert org.plan_event_at.year == 1970


def test_postgres_gets_row_level_security_that_confines_a_tenant_jwt(postgres_url: str) -> None:
    migrate(postgres_url)
    store = SqlControlPlane(postgres_url)
    store.create_org("acme_abc123", "Acme", "acme", "starter")
    store.create_org("globex_abc123", "Globex", "globex", "starter")
    with psycopg.connect(psycopg_dsn(postgres_url)) as con:
        enabled = con.execute("select relname from pg_class where relrowsecurity order by relname").fetchall()
        assert [row[0] for row in enabled] == [
            "organization_members", "organizations", "plan_change_audit", "stripe_events",
        ]  # fmt: skip
        con.execute("set local role authenticated")
        con.execute("""select set_config('request.jwt.claims', '{"role":"authenticated","org_slug":"acme_abc123"}',
                       true)""")  # fmt: skip
        assert con.execute("select org_slug from organizations").fetchall() == [("acme_abc123",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("update organizations set plan = 'scale'")
    store.engine.dispose()


def test_sqlite_has_no_postgres_only_parts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    migrate(url)
    with sa.create_engine(url).connect() as con:
        assert con.execute(sa.text("select version_num from alembic_version")).scalar() == MIGRATION_HEAD
