from pathlib import Path

import pytest

from cloudact.settings import Settings


def test_defaults_keep_all_local_state_under_one_data_directory(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "d")  # type: ignore[call-arg]
    data_dir = (tmp_path / "d").resolve()
    assert settings.warehouse == "duckdb" and settings.control_plane == "sqlite"
    assert settings.resolved_duckdb_path == data_dir / "warehouse.duckdb"
    assert settings.resolved_database_url == f"sqlite:///{data_dir / 'control_plane.db'}"
    assert settings.dlt_pipelines_dir == data_dir / "dlt"


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOUDACT_DATA_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("CLOUDACT_WAREHOUSE", "bigquery")
    monkeypatch.setenv("CLOUDACT_ROOT_API_KEY", "k" * 40)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_data_dir == (tmp_path / "x").resolve()
    assert settings.warehouse == "bigquery"
    assert settings.root_api_key.get_secret_value() == "k" * 40
    assert "k" * 40 not in repr(settings)


def test_production_refuses_the_default_root_key() -> None:
    with pytest.raises(ValueError, match="CLOUDACT_ROOT_API_KEY"):
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]


def test_production_refuses_disabled_auth() -> None:
    with pytest.raises(ValueError, match="CLOUDACT_AUTH_DISABLED"):
        Settings(_env_file=None, environment="production", root_api_key="r" * 40, auth_disabled=True)  # type: ignore[call-arg]


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(_env_file=None, environment="production", root_api_key="r" * 40)  # type: ignore[call-arg]
    assert settings.environment == "production"


def test_postgres_control_plane_needs_a_database_url() -> None:
    settings = Settings(_env_file=None, control_plane="postgres")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="CLOUDACT_DATABASE_URL"):
        _ = settings.resolved_database_url
