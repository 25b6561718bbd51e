"""Org API keys: 32 random bytes shown once, stored as a SHA-256 hash plus an envelope-encrypted copy.

The hash authenticates requests; the encrypted copy lets an operator holding the root key recover a lost key
(``cloudact org recover-key``) without the key ever being stored in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from cloudact.keyring import Envelope, Keyring, open_envelope, seal
from cloudact.rewrap import rewrap_rows
from cloudact.tenancy import validate_slug
from cloudact.warehouse import Sql, Warehouse

API_KEY_PREFIX = "ca_"
KEY_BYTES = 32


class ApiKeyNotFoundError(LookupError):
    """No active key matches."""


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: ``api_key`` is the only clear copy and is shown once."""

    org_slug: str
    key_id: str
    key_prefix: str
    api_key: str


def hash_api_key(api_key: str) -> str:
    """SHA-256 hex digest of an API key (what the warehouse stores)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def _aad(org_slug: str, key_id: str) -> bytes:
    # Binds the encrypted copy to its org and key id: a row copied to another org does not decrypt.
    return f"api_key/{org_slug}/{key_id}".encode()


def issue_api_key(warehouse: Warehouse, keyring: Keyring, org_slug: str, sql: Sql | None = None) -> IssuedKey:
    """Create, store (hashed + encrypted) and return a new key for ``org_slug``."""
    slug = validate_slug(org_slug)
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    key_id = secrets.token_hex(8)
    envelope = seal(keyring, api_key.encode(), _aad(slug, key_id))
    (sql or warehouse).execute(
        f"""insert into {warehouse.shared_table("org_api_keys")}
            (org_slug, key_id, key_prefix, key_sha256, created_at, kek_id, wrapped_key, nonce, ciphertext)
            values (@org_slug, @key_id, @key_prefix, @key_sha256, @created_at,
                    @kek_id, @wrapped_key, @nonce, @ciphertext)""",
        {
            "org_slug": slug,
            "key_id": key_id,
            "key_prefix": api_key[:8],
            "key_sha256": hash_api_key(api_key),
            "created_at": datetime.now(UTC),
            **envelope.to_dict(),
        },
    )
    return IssuedKey(slug, key_id, api_key[:8], api_key)


# Recently verified keys of this process: digest → (org slug, time verified). Opening the platform file costs ~12 ms
# (DuckDB), too much for every read; a revoked key stops working within AUTH_CACHE_SECONDS, and at once in the process
# that revoked it.
AUTH_CACHE_SECONDS = 30.0
_VERIFIED: dict[str, tuple[str, float]] = {}


def cached_owner(api_key: str, cache_seconds: float = AUTH_CACHE_SECONDS) -> str | None:
    """The org of a key verified by this process within ``cache_seconds`` (no I/O), else ``None``."""
    hit = _VERIFIED.get(hash_api_key(api_key))
    return hit[0] if hit is not None and time.monotonic() - hit[1] < cache_seconds else None


def authenticate(warehouse: Warehouse, api_key: str, cache_seconds: float = AUTH_CACHE_SECONDS) -> str | None:
    """The org slug an active key belongs to, or ``None``.

    The lookup is by hash (an index probe, independent of the key's bytes) and the stored hash is compared in
    constant time, so timing reveals nothing about valid keys. Unknown keys are never cached.
    """
    digest = hash_api_key(api_key)
    hit = _VERIFIED.get(digest)
    if hit is not None and time.monotonic() - hit[1] < cache_seconds:
        return hit[0]
    rows = warehouse.query(
        f"""select org_slug, key_sha256 from {warehouse.shared_table("org_api_keys")}
            where key_sha256 = @digest and revoked_at is null""",
        {"digest": digest},
    )
    for row in rows:
        if hmac.compare_digest(row["key_sha256"], digest):
            _VERIFIED[digest] = (str(row["org_slug"]), time.monotonic())
            return str(row["org_slug"])
    _VERIFIED.pop(digest, None)
    return None


def recover_api_key(warehouse: Warehouse, keyring: Keyring, org_slug: str, key_id: str | None = None) -> IssuedKey:
    """Decrypt the stored copy of an org's key (the newest active one unless ``key_id`` is given).

    Raises:
        ApiKeyNotFoundError: If the org has no such active key.
        KeyringError: If the key-encryption key cannot open it.
    """
    slug = validate_slug(org_slug)
    rows = warehouse.query(
        f"""select key_id, key_prefix, kek_id, wrapped_key, nonce, ciphertext
            from {warehouse.shared_table("org_api_keys")}
            where org_slug = @org_slug and revoked_at is null and (@key_id is null or key_id = @key_id)
            order by created_at desc limit 1""",
        {"org_slug": slug, "key_id": key_id},
    )
    if not rows:
        raise ApiKeyNotFoundError(f"org {slug} has no active API key" + (f" {key_id}" if key_id else ""))
    row = rows[0]
    api_key = open_envelope(keyring, Envelope.from_dict(row), _aad(slug, row["key_id"])).decode()
    return IssuedKey(slug, row["key_id"], row["key_prefix"], api_key)


def list_api_keys(warehouse: Warehouse, org_slug: str) -> list[dict[str, object]]:
    """Metadata of an org's keys (never the key or its hash)."""
    return warehouse.query(
        f"""select key_id, key_prefix, created_at, revoked_at, last_used_at
            from {warehouse.shared_table("org_api_keys")} where org_slug = @org_slug order by created_at""",
        {"org_slug": validate_slug(org_slug)},
    )


def revoke_api_key(warehouse: Warehouse, org_slug: str, key_id: str) -> None:
    """Revoke one key of an org.

    Raises:
        ApiKeyNotFoundError: If the org has no such active key.
    """
    slug = validate_slug(org_slug)
    table = warehouse.shared_table("org_api_keys")
    with warehouse.transaction() as sql:
        found = sql.query(
            f"select count(*) as n from {table} where org_slug = @org_slug and key_id = @key_id and revoked_at is null",
            {"org_slug": slug, "key_id": key_id},
        )
        if not found[0]["n"]:
            raise ApiKeyNotFoundError(f"org {slug} has no active API key {key_id}")
        sql.execute(
            f"update {table} set revoked_at = @now where org_slug = @org_slug and key_id = @key_id",
            {"now": datetime.now(UTC), "org_slug": slug, "key_id": key_id},
        )
    _VERIFIED.clear()


def delete_api_keys(warehouse: Warehouse, org_slug: str) -> None:
    """Remove every key of an org (used to undo a failed onboarding)."""
    _VERIFIED.clear()
    warehouse.execute(
        f"delete from {warehouse.shared_table('org_api_keys')} where org_slug = @org_slug",
        {"org_slug": validate_slug(org_slug)},
    )


def rewrap_api_keys(warehouse: Warehouse, keyring: Keyring) -> int:
    """Re-wrap every stored key copy under the keyring's primary KEK (after a rotation); returns how many moved."""
    return rewrap_rows(warehouse, keyring, "org_api_keys", ("org_slug", "key_id"))
