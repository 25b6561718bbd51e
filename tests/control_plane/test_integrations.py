"""Provider credentials: validated, envelope-encrypted at rest, never returned or logged, rotated, deleted."""

from __future__ import annotations

import json
import logging

import pytest

from cloudact.credentials import CredentialError
from cloudact.integrations import (
    IntegrationNotFoundError,
    delete_integration,
    get_credentials,
    list_integrations,
    rewrap_integrations,
    set_integration,
)
from cloudact.keyring import KeyringError, LocalKeyring, get_keyring
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse

OPENAI_SECRET = "sk-admin-" + "Zq9" * 12
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def warehouse(settings: Settings):  # noqa: ANN201
    warehouse = get_warehouse(settings)
    warehouse.bootstrap()
    return warehouse


def test_round_trip_stores_only_ciphertext_and_logs_no_secret(
    settings: Settings, warehouse, caplog: pytest.LogCaptureFixture
) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    keyring = get_keyring(settings)
    set_integration(warehouse, keyring, "acme_abc123", "openai", {"admin_key": OPENAI_SECRET})
    aws = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": AWS_SECRET}
    set_integration(warehouse, keyring, "acme_abc123", "aws", aws)

    rows = warehouse.query("select * from organizations.org_integration_credentials order by provider")
    dump = json.dumps(rows, default=str)
    for secret in (OPENAI_SECRET, AWS_SECRET):
        assert secret not in dump
        assert settings.resolved_platform_path.read_bytes().find(secret.encode()) == -1
    assert get_credentials(warehouse, keyring, "acme_abc123", "openai") == {"admin_key": OPENAI_SECRET}
    assert get_credentials(warehouse, keyring, "acme_abc123", "aws")["secret_access_key"] == AWS_SECRET
    listed = json.dumps([item.__dict__ for item in list_integrations(warehouse, "acme_abc123")], default=str)
    assert OPENAI_SECRET not in listed and AWS_SECRET not in listed and "AKIAIOSFODNN7EXAMPLE" in listed

    with pytest.raises(CredentialError) as bad:
        set_integration(warehouse, keyring, "acme_abc123", "openai", {"admin_key": "sk-wrong-" + AWS_SECRET})
    assert "admin_key" in str(bad.value) and AWS_SECRET not in str(bad.value)
    assert get_credentials(warehouse, keyring, "acme_abc123", "openai") == {"admin_key": OPENAI_SECRET}

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "openai credentials" in logged  # the log was captured
    for secret in (OPENAI_SECRET, AWS_SECRET):
        assert secret not in logged


def test_a_wrong_kek_fails_loudly(settings: Settings, warehouse, tmp_path) -> None:  # noqa: ANN001
    set_integration(warehouse, get_keyring(settings), "acme_abc123", "openai", {"admin_key": OPENAI_SECRET})
    with pytest.raises(KeyringError):
        get_credentials(warehouse, LocalKeyring(tmp_path / "another-keyring.json"), "acme_abc123", "openai")


def test_a_row_copied_to_another_tenant_does_not_decrypt(settings: Settings, warehouse) -> None:  # noqa: ANN001
    keyring = get_keyring(settings)
    set_integration(warehouse, keyring, "acme_abc123", "openai", {"admin_key": OPENAI_SECRET})
    warehouse.execute("""insert into organizations.org_integration_credentials
        select 'globex_abc123' as org_slug, * exclude (org_slug) from organizations.org_integration_credentials""")
    with pytest.raises(KeyringError):
        get_credentials(warehouse, keyring, "globex_abc123", "openai")


def test_rotation_rewraps_without_data_loss(settings: Settings, warehouse) -> None:  # noqa: ANN001
    keyring = get_keyring(settings)
    assert isinstance(keyring, LocalKeyring)
    set_integration(warehouse, keyring, "acme_abc123", "openai", {"admin_key": OPENAI_SECRET})
    old = keyring.primary_key_id()
    new = keyring.rotate()
    assert new != old
    assert rewrap_integrations(warehouse, keyring) == 1
    assert rewrap_integrations(warehouse, keyring) == 0
    row = warehouse.query("select kek_id from organizations.org_integration_credentials")
    assert row == [{"kek_id": new}]
    assert get_credentials(warehouse, keyring, "acme_abc123", "openai") == {"admin_key": OPENAI_SECRET}


def test_delete_is_real(settings: Settings, warehouse) -> None:  # noqa: ANN001
    keyring = get_keyring(settings)
    set_integration(warehouse, keyring, "acme_abc123", "openai", {"admin_key": OPENAI_SECRET})
    delete_integration(warehouse, "acme_abc123", "openai")
    assert warehouse.query("select * from organizations.org_integration_credentials") == []
    with pytest.raises(IntegrationNotFoundError):
        get_credentials(warehouse, keyring, "acme_abc123", "openai")
    with pytest.raises(IntegrationNotFoundError):
        delete_integration(warehouse, "acme_abc123", "openai")
