"""Onboarding: a working key shown once, stored only hashed (plus a recoverable encrypted copy), all or nothing."""

from __future__ import annotations

import pytest

from cloudact import api_keys
from cloudact.control_plane import OrgExistsError, OrgNotFoundError, get_control_plane
from cloudact.keyring import LocalKeyring, get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse


def _onboard(settings: Settings, name: str = "Acme Corp", **kwargs: object):  # noqa: ANN202
    return onboard_org(get_control_plane(settings), get_warehouse(settings), get_keyring(settings), name, **kwargs)


def test_the_key_works_is_stored_hashed_and_recovers_to_the_same_key(settings: Settings) -> None:
    org = _onboard(settings, owner_email="ceo@acme.example")
    warehouse = get_warehouse(settings)
    assert len(org.api_key) >= 3 + 43 and org.api_key.startswith("ca_")  # 32 random bytes, URL-safe base64
    assert api_keys.authenticate(warehouse, org.api_key) == org.org_slug
    assert api_keys.authenticate(warehouse, org.api_key + "x") is None

    stored = warehouse.query("select * from organizations.org_api_keys")
    assert len(stored) == 1
    assert stored[0]["key_sha256"] == api_keys.hash_api_key(org.api_key)
    assert org.api_key not in repr(stored)  # not in clear in any column
    for path in (settings.resolved_duckdb_path, settings.resolved_platform_path):
        assert path.read_bytes().find(org.api_key.encode()) == -1

    assert api_keys.recover_api_key(warehouse, get_keyring(settings), org.org_slug).api_key == org.api_key
    cp = get_control_plane(settings)
    assert cp.get_org(org.org_slug).plan == "starter"
    assert [m.email for m in cp.list_members(org.org_slug)] == ["ceo@acme.example"]
    assert [c.source for c in cp.list_plan_changes(org.org_slug)] == ["onboarding"]
    assert warehouse.dataset_exists(org.dataset)
    quota = warehouse.query("select pipeline_runs from organizations.org_usage_quotas where org_slug = @s",
                            {"s": org.org_slug})  # fmt: skip
    assert quota == [{"pipeline_runs": 0}]


def test_recovery_with_another_keyring_fails_loudly(settings: Settings, tmp_path) -> None:  # noqa: ANN001
    from cloudact.keyring import KeyringError

    org = _onboard(settings)
    with pytest.raises(KeyringError):
        api_keys.recover_api_key(get_warehouse(settings), LocalKeyring(tmp_path / "other.json"), org.org_slug)


def test_onboarding_the_same_company_twice_is_a_conflict(settings: Settings) -> None:
    first = _onboard(settings)
    with pytest.raises(OrgExistsError, match=first.org_slug):
        _onboard(settings, "  acme corp ")
    assert len(get_control_plane(settings).list_orgs()) == 1


def test_a_failure_half_way_leaves_nothing_behind(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("warehouse went away while issuing the key")

    monkeypatch.setattr(api_keys, "issue_api_key", broken)
    with pytest.raises(RuntimeError, match="went away"):
        _onboard(settings, owner_email="ceo@acme.example")
    cp, warehouse = get_control_plane(settings), get_warehouse(settings)
    assert cp.list_orgs() == []
    for table in ("org_api_keys", "org_usage_quotas", "org_audit_logs"):
        assert warehouse.query(f"select * from organizations.{table}") == []
    schemas = warehouse.query_tenant(
        "select schema_name from information_schema.schemata where schema_name like 'acme%'"
    )
    assert schemas == []
    with pytest.raises(OrgNotFoundError):
        cp.get_org("acme_corp_x")
    monkeypatch.undo()
    assert _onboard(settings).org_slug.startswith("acme_corp_")  # and it can be retried


def test_undo_goes_on_when_a_step_fails_so_a_retry_is_not_a_conflict(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudact.warehouse import DuckDBWarehouse, WarehouseBusyError

    def busy(*args: object, **kwargs: object) -> None:
        raise WarehouseBusyError("warehouse.duckdb is busy in another process")

    monkeypatch.setattr(api_keys, "issue_api_key", busy)
    monkeypatch.setattr(DuckDBWarehouse, "drop_dataset", busy)
    with pytest.raises(WarehouseBusyError):
        _onboard(settings)
    assert get_control_plane(settings).list_orgs() == []  # the control-plane row went first
    monkeypatch.undo()
    assert _onboard(settings).org_slug.startswith("acme_corp_")
