"""Provider credentials per org: validated for shape, envelope-encrypted, never returned or logged.

A row of ``organizations.org_integration_credentials`` holds the envelope (AES-256-GCM ciphertext, the data key
wrapped by the keyring's KEK) and a redacted summary that is safe to show. The plaintext exists only in memory, in
:func:`get_credentials`, for the pipeline that needs it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudact.credentials import redacted, validate_credentials
from cloudact.keyring import Envelope, Keyring, open_envelope, seal
from cloudact.rewrap import rewrap_rows
from cloudact.tenancy import validate_slug
from cloudact.warehouse import Warehouse

log = logging.getLogger(__name__)


class ProviderLimitError(RuntimeError):
    """The plan's number of providers is reached (HTTP 409)."""


def check_provider_limit(warehouse: Warehouse, org_slug: str, provider: str, limit: int) -> None:
    """Refuse a new provider beyond the plan's limit (replacing an existing provider's credentials is fine).

    Raises:
        ProviderLimitError: If ``limit`` providers are already connected and ``provider`` is not one of them.
    """
    connected = {item.provider for item in list_integrations(warehouse, org_slug)}
    if provider not in connected and len(connected) >= limit:
        raise ProviderLimitError(
            f"the plan allows {limit} provider(s) and {', '.join(sorted(connected))} are connected: "
            "remove one or upgrade"
        )


class IntegrationNotFoundError(LookupError):
    """The org has no credentials for that provider (HTTP 404)."""


@dataclass(frozen=True)
class Integration:
    """What may be shown about an integration: never the secret."""

    org_slug: str
    provider: str
    status: str
    summary: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    validated_at: datetime | None
    last_error: str | None


def _aad(org_slug: str, provider: str) -> bytes:
    # Binds the ciphertext to its org and provider: a row copied to another tenant does not decrypt.
    return f"integration/{org_slug}/{provider}".encode()


def set_integration(
    warehouse: Warehouse, keyring: Keyring, org_slug: str, provider: str, payload: dict[str, Any]
) -> Integration:
    """Validate and store (create or replace) an org's credentials for ``provider``.

    Raises:
        CredentialError: If the payload does not have the provider's shape (the message names the field only).
    """
    slug = validate_slug(org_slug)
    creds = validate_credentials(provider, payload)
    envelope = seal(keyring, json.dumps(creds, sort_keys=True).encode(), _aad(slug, provider))
    table = warehouse.shared_table("org_integration_credentials")
    now = datetime.now(UTC)
    with warehouse.transaction() as sql:
        existing = sql.query(
            f"select created_at from {table} where org_slug = @org_slug and provider = @provider",
            {"org_slug": slug, "provider": provider},
        )
        sql.execute(f"delete from {table} where org_slug = @org_slug and provider = @provider",
                    {"org_slug": slug, "provider": provider})  # fmt: skip
        sql.execute(
            f"""insert into {table} (org_slug, provider, kek_id, wrapped_key, nonce, ciphertext, summary, status,
                                     last_error, created_at, updated_at, validated_at)
                values (@org_slug, @provider, @kek_id, @wrapped_key, @nonce, @ciphertext, @summary, 'valid',
                        null, @created_at, @now, @now)""",
            {
                "org_slug": slug,
                "provider": provider,
                **envelope.to_dict(),
                "summary": json.dumps(redacted(provider, creds), sort_keys=True),
                "created_at": existing[0]["created_at"] if existing else now,
                "now": now,
            },
        )
    log.info("stored %s credentials for %s (kek %s)", provider, slug, envelope.kek_id)
    return get_integration(warehouse, slug, provider)


def get_integration(warehouse: Warehouse, org_slug: str, provider: str) -> Integration:
    """The redacted view of one integration.

    Raises:
        IntegrationNotFoundError: If there is none.
    """
    found = [item for item in list_integrations(warehouse, org_slug) if item.provider == provider]
    if not found:
        raise IntegrationNotFoundError(f"org {org_slug} has no {provider} integration")
    return found[0]


def list_integrations(warehouse: Warehouse, org_slug: str) -> list[Integration]:
    """The redacted view of every integration of an org."""
    slug = validate_slug(org_slug)
    rows = warehouse.query(
        f"""select provider, status, summary, created_at, updated_at, validated_at, last_error
            from {warehouse.shared_table("org_integration_credentials")}
            where org_slug = @org_slug order by provider""",
        {"org_slug": slug},
    )
    return [
        Integration(
            slug,
            row["provider"],
            row["status"],
            json.loads(row["summary"] or "{}"),
            row["created_at"],
            row["updated_at"],
            row["validated_at"],
            row["last_error"],
        )
        for row in rows
    ]


def get_credentials(warehouse: Warehouse, keyring: Keyring, org_slug: str, provider: str) -> dict[str, Any]:
    """Decrypt an org's credentials for a pipeline run (keep the result in memory only).

    Raises:
        IntegrationNotFoundError: If there is none.
        KeyringError: If the KEK cannot open them (wrong keyring, tampered row).
    """
    slug = validate_slug(org_slug)
    rows = warehouse.query(
        f"""select kek_id, wrapped_key, nonce, ciphertext from {warehouse.shared_table("org_integration_credentials")}
            where org_slug = @org_slug and provider = @provider""",
        {"org_slug": slug, "provider": provider},
    )
    if not rows:
        raise IntegrationNotFoundError(f"org {slug} has no {provider} integration")
    return json.loads(open_envelope(keyring, Envelope.from_dict(rows[0]), _aad(slug, provider)))


def delete_integration(warehouse: Warehouse, org_slug: str, provider: str) -> None:
    """Delete an org's credentials for ``provider`` (the row and its ciphertext are gone).

    Raises:
        IntegrationNotFoundError: If there is none.
    """
    get_integration(warehouse, org_slug, provider)
    warehouse.execute(
        f"""delete from {warehouse.shared_table("org_integration_credentials")}
            where org_slug = @org_slug and provider = @provider""",
        {"org_slug": validate_slug(org_slug), "provider": provider},
    )
    log.info("deleted %s credentials of %s", provider, org_slug)


def rewrap_integrations(warehouse: Warehouse, keyring: Keyring) -> int:
    """Re-wrap every stored credential under the primary KEK (after a rotation); returns how many moved."""
    return rewrap_rows(warehouse, keyring, "org_integration_credentials", ("org_slug", "provider"))
