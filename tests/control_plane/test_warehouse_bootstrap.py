"""Smart bootstrap of the shared warehouse dataset: creates on a fresh warehouse, completes an older one."""

from __future__ import annotations

from datetime import UTC, datetime

from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse
from cloudact.warehouse_schema import SHARED_TABLES


def _schema(settings: Settings) -> list[tuple[str, str, str]]:
    return [
        (row["table_name"], row["column_name"], row["data_type"])
        for row in get_warehouse(settings).query(
            """select table_name, column_name, data_type from information_schema.columns
               where table_schema = 'organizations' order by table_name, ordinal_position"""
        )
    ]


def test_fresh_warehouse_gets_every_table_and_a_second_run_changes_nothing(settings: Settings) -> None:
    warehouse = get_warehouse(settings)
    first = warehouse.bootstrap()
    assert sorted(first.created_tables) == sorted(SHARED_TABLES) and not first.added_columns
    schema = _schema(settings)
    assert {(table, column) for table, column, _ in schema} == {
        (table, column) for table, columns in SHARED_TABLES.items() for column, _ in columns
    }
    second = warehouse.bootstrap()
    assert not second.changed and not second.type_mismatches
    assert _schema(settings) == schema


def test_older_warehouse_is_completed_without_losing_data(settings: Settings, tmp_path) -> None:  # noqa: ANN001
    warehouse = get_warehouse(settings)
    # The foundation release's shared table, with a key in it.
    warehouse.execute("create schema organizations")
    warehouse.execute("""create table organizations.org_api_keys (org_slug varchar not null,
        key_id varchar not null primary key, key_prefix varchar not null, key_sha256 varchar not null unique,
        created_at timestamp with time zone not null, revoked_at timestamp with time zone)""")  # fmt: skip
    created = datetime(2026, 11, 20, tzinfo=UTC)
    warehouse.execute(
        "insert into organizations.org_api_keys values ('acme_abc123', 'k1', 'ca_abcde', 'f00d', @at, null)",
        {"at": created},
    )
    report = warehouse.bootstrap()
    assert "org_api_keys" not in report.created_tables
    assert report.added_columns == [
        "org_api_keys.last_used_at", "org_api_keys.kek_id", "org_api_keys.wrapped_key", "org_api_keys.nonce",
        "org_api_keys.ciphertext",
    ]  # fmt: skip
    rows = warehouse.query("select org_slug, key_id, key_sha256, created_at, kek_id from organizations.org_api_keys")
    assert rows == [
        {"org_slug": "acme_abc123", "key_id": "k1", "key_sha256": "f00d", "created_at": created, "kek_id": None}
    ]
    assert not warehouse.bootstrap().changed

    fresh = Settings(_env_file=None, data_dir=tmp_path / "fresh")  # type: ignore[call-arg]
    get_warehouse(fresh).bootstrap()
    assert {(t, c) for t, c, _ in _schema(settings)} == {(t, c) for t, c, _ in _schema(fresh)}
