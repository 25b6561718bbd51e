"""Control-plane fixtures: one contract suite, three real stores (SQLite, Postgres, Supabase over PostgREST)."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cloudact.control_plane import ControlPlaneStore
from cloudact.control_plane.migrate import migrate
from cloudact.control_plane.sql_store import SqlControlPlane

JWT_SECRET = "test-jwt-secret-with-at-least-32-characters"
_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A real Postgres 16 (the pgserver wheel) for the whole session, on a Unix socket in a temp dir."""
    import pgserver

    with tempfile.TemporaryDirectory(prefix="cloudact-pg-") as folder:
        server = pgserver.get_server(Path(folder), cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@pytest.fixture
def postgres_url(postgres_uri: str) -> str:
    """A fresh, empty database of that server as a SQLAlchemy URL (psycopg 3 driver)."""
    name = f"cp_{next(_databases)}"
    with psycopg.connect(postgres_uri, autocommit=True) as con:
        con.execute(f"create database {name}")
    # pgserver's URI is postgresql://postgres:@/postgres?host=/socket/dir
    base, _, query = postgres_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}".replace("postgresql://", "postgresql+psycopg://", 1)


def psycopg_dsn(sqlalchemy_url: str) -> str:
    """The same database as a plain libpq URI."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControlPlaneStore]:
    """Each implementation on a freshly migrated database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'control_plane.db'}"
        migrate(url)
        yield SqlControlPlane(url)
        return
    url = request.getfixturevalue("postgres_url")
    migrate(url)
    if request.param == "postgres":
        sql_store = SqlControlPlane(url)
        yield sql_store
        sql_store.engine.dispose()
        return
    from cloudact.control_plane.supabase_store import SupabaseControlPlane
    from tests.support.postgrest_server import PostgrestServer, make_jwt

    with PostgrestServer(psycopg_dsn(url), JWT_SECRET) as server:
        yield SupabaseControlPlane(server.url, make_jwt(JWT_SECRET, "service_role"))
