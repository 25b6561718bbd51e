"""Envelope encryption: local keyring file safety, rotation and re-wrapping, and the Cloud KMS keyring's checks."""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import google_crc32c
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.api_core import exceptions as gexc
from google.cloud import kms

from cloudact.keyring import (
    Envelope,
    GcpKmsKeyring,
    Keyring,
    KeyringError,
    LocalKeyring,
    get_keyring,
    open_envelope,
    rewrap,
    seal,
)
from cloudact.settings import Settings, SettingsError

SECRET = b'{"admin_key": "sk-admin-THIS-IS-THE-SECRET-0123456789"}'
AAD = b"acme/openai"
KMS_KEY = "projects/p/locations/global/keyRings/cloudact/cryptoKeys/credentials"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyring:
    return LocalKeyring(tmp_path / "data" / "keyring.json")


def test_round_trip_and_nothing_readable_is_stored(keyring: LocalKeyring) -> None:
    envelope = seal(keyring, SECRET, AAD)
    stored = json.dumps(envelope.to_dict())

    assert open_envelope(keyring, Envelope.from_dict(json.loads(stored)), AAD) == SECRET
    assert envelope.ciphertext != SECRET
    assert SECRET not in stored.encode() and b"THIS-IS-THE-SECRET" not in stored.encode()
    assert envelope.kek_id == keyring.primary_key_id()
    # A fresh data key and nonce per secret: sealing twice never repeats the ciphertext.
    assert seal(keyring, SECRET, AAD).ciphertext != envelope.ciphertext


def test_wrong_associated_data_does_not_open(keyring: LocalKeyring) -> None:
    envelope = seal(keyring, SECRET, AAD)
    with pytest.raises(KeyringError, match="could not decrypt") as err:
        open_envelope(keyring, envelope, b"other_org/openai")
    assert "THIS-IS-THE-SECRET" not in str(err.value)


def test_another_keyring_file_fails_loudly(keyring: LocalKeyring, tmp_path: Path) -> None:
    envelope = seal(keyring, SECRET, AAD)
    other = LocalKeyring(tmp_path / "other" / "keyring.json")
    other.primary_key_id()
    with pytest.raises(KeyringError, match="could not decrypt.*not in keyring"):
        open_envelope(other, envelope, AAD)


def test_same_kek_id_with_different_key_material_fails(keyring: LocalKeyring, tmp_path: Path) -> None:
    envelope = seal(keyring, SECRET, AAD)
    # A copy of the file whose key bytes were replaced: the id matches, the KEK does not.
    doc = json.loads(keyring.path.read_text())
    doc["keys"][0]["key"] = base64.b64encode(AESGCM.generate_key(256)).decode()
    forged = tmp_path / "forged" / "keyring.json"
    forged.parent.mkdir(mode=0o700)
    forged.write_text(json.dumps(doc))
    forged.chmod(0o600)
    with pytest.raises(KeyringError, match="could not decrypt.*does not open"):
        open_envelope(LocalKeyring(forged), envelope, AAD)


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_key"])
def test_tampering_is_detected(keyring: LocalKeyring, field: str) -> None:
    envelope = seal(keyring, SECRET, AAD)
    value = bytearray(getattr(envelope, field))
    value[-1] ^= 0x01
    with pytest.raises(KeyringError, match="could not decrypt"):
        open_envelope(keyring, replace(envelope, **{field: bytes(value)}), AAD)


def test_missing_keyring_file_is_an_error_not_a_new_keyring(keyring: LocalKeyring, tmp_path: Path) -> None:
    envelope = seal(keyring, SECRET, AAD)
    lost = LocalKeyring(tmp_path / "moved" / "keyring.json")
    with pytest.raises(KeyringError, match="does not exist"):
        open_envelope(lost, envelope, AAD)
    assert not lost.path.exists()


def test_malformed_envelope_dicts_are_rejected(keyring: LocalKeyring) -> None:
    stored = seal(keyring, SECRET, AAD).to_dict()
    with pytest.raises(KeyringError, match="missing nonce"):
        Envelope.from_dict({k: v for k, v in stored.items() if k != "nonce"})
    with pytest.raises(KeyringError, match="not valid base64"):
        Envelope.from_dict({**stored, "ciphertext": "***"})
    assert set(stored) == {"kek_id", "wrapped_key", "nonce", "ciphertext"}
    row = {"org_slug": "acme", "provider": "openai", **stored}  # a warehouse row: other columns are ignored
    assert open_envelope(keyring, Envelope.from_dict(row), AAD) == SECRET


def test_keyring_file_is_0600_in_a_0700_directory(keyring: LocalKeyring) -> None:
    keyring.primary_key_id()
    assert _mode(keyring.path) == 0o600
    assert _mode(keyring.path.parent) == 0o700
    doc = json.loads(keyring.path.read_text())
    assert doc["primary"] == doc["keys"][0]["id"] and len(doc["keys"]) == 1
    assert set(doc["keys"][0]) == {"id", "created_at", "key"}
    # No temporary files are left behind by the atomic write.
    assert sorted(p.name for p in keyring.path.parent.iterdir()) == [".keyring.json.lock", "keyring.json"]


def test_a_keyring_readable_by_others_is_refused(keyring: LocalKeyring) -> None:
    envelope = seal(keyring, SECRET, AAD)
    keyring.path.chmod(0o644)
    with pytest.raises(KeyringError, match=r"mode 0644.*chmod 600 .*keyring\.json") as err:
        open_envelope(keyring, envelope, AAD)
    assert str(keyring.path) in str(err.value)
    with pytest.raises(KeyringError, match="chmod 600"):
        keyring.wrap(os.urandom(32))


def test_a_corrupt_keyring_file_is_reported(keyring: LocalKeyring) -> None:
    keyring.primary_key_id()
    keyring.path.write_text('{"primary": "nope", "keys": []}')
    with pytest.raises(KeyringError, match="corrupt"):
        keyring.primary_key_id()


def test_rotation_keeps_old_keys_and_rewrap_moves_envelopes(keyring: LocalKeyring) -> None:
    old = seal(keyring, SECRET, AAD)
    old_id = keyring.primary_key_id()

    new_id = keyring.rotate()

    assert new_id != old_id and keyring.primary_key_id() == new_id
    assert keyring.key_ids() == [old_id, new_id]
    assert _mode(keyring.path) == 0o600
    assert seal(keyring, SECRET, AAD).kek_id == new_id
    assert open_envelope(keyring, old, AAD) == SECRET

    moved = rewrap(keyring, old)
    assert moved.kek_id == new_id and moved.wrapped_key != old.wrapped_key
    assert (moved.nonce, moved.ciphertext) == (old.nonce, old.ciphertext)
    assert open_envelope(keyring, moved, AAD) == SECRET
    # Old keys are kept: an envelope not yet re-wrapped still opens after a second rotation.
    keyring.rotate()
    assert open_envelope(keyring, old, AAD) == SECRET
    assert len(keyring.key_ids()) == 3


def test_local_keyring_satisfies_the_protocol(keyring: LocalKeyring) -> None:
    assert isinstance(keyring, Keyring)
    assert isinstance(GcpKmsKeyring(KMS_KEY, client=FakeKms()), Keyring)


# -- Cloud KMS --------------------------------------------------------------------------------------------------------
# Cloud KMS has no emulator and the tests run offline, so FakeKms stands in for Google's service (not for our code):
# it parses each request into the real google.cloud.kms message type (a misspelt field or wrong type fails) and answers
# with the real response types, CRC32C integrity fields included, so GcpKmsKeyring's requests and checks run unchanged.


def _crc(data: bytes) -> int:
    return google_crc32c.value(data)


class FakeKms:
    """An in-memory KMS symmetric key with versions; ``corrupt`` spoils the request or response checksum."""

    def __init__(self, key_name: str = KMS_KEY) -> None:
        self.key_name = key_name
        self.versions: dict[str, bytes] = {}
        self.primary = ""
        self.corrupt: str | None = None
        self.requests: list[Any] = []
        self.rotate()

    def rotate(self) -> str:
        self.primary = f"{self.key_name}/cryptoKeyVersions/{len(self.versions) + 1}"
        self.versions[self.primary] = AESGCM.generate_key(256)
        return self.primary

    def get_crypto_key(self, request: dict[str, Any]) -> kms.CryptoKey:
        req = kms.GetCryptoKeyRequest(request)
        return kms.CryptoKey(name=req.name, primary=kms.CryptoKeyVersion(name=self.primary))

    def encrypt(self, request: dict[str, Any]) -> kms.EncryptResponse:
        req = kms.EncryptRequest(request)
        self.requests.append(req)
        if req.name != self.key_name:
            raise gexc.NotFound(f"CryptoKey {req.name} not found.")
        verified = "plaintext_crc32c" in req and req.plaintext_crc32c == _crc(req.plaintext)
        # The real ciphertext format is opaque; this one records the version so decrypt can find the key.
        nonce = os.urandom(12)
        version = self.primary.rsplit("/", 1)[1].encode()
        ciphertext = version + b"." + nonce + AESGCM(self.versions[self.primary]).encrypt(nonce, req.plaintext, None)
        return kms.EncryptResponse(
            name=self.primary,
            ciphertext=ciphertext,
            ciphertext_crc32c=_crc(ciphertext) ^ (self.corrupt == "response"),
            verified_plaintext_crc32c=verified and self.corrupt != "request",
        )

    def decrypt(self, request: dict[str, Any]) -> kms.DecryptResponse:
        req = kms.DecryptRequest(request)
        self.requests.append(req)
        if "ciphertext_crc32c" in req and req.ciphertext_crc32c != _crc(req.ciphertext):
            raise gexc.InvalidArgument("The checksum in field ciphertext_crc32c did not match the data.")
        version, _, rest = req.ciphertext.partition(b".")
        key = self.versions.get(f"{self.key_name}/cryptoKeyVersions/{version.decode(errors='replace')}")
        try:
            plaintext = AESGCM(key or b"\0" * 32).decrypt(rest[:12], rest[12:], None)
        except Exception:
            raise gexc.InvalidArgument("Decryption failed: the ciphertext is invalid.") from None
        return kms.DecryptResponse(plaintext=plaintext, plaintext_crc32c=_crc(plaintext) ^ (self.corrupt == "response"))


def test_kms_round_trip_sends_checksums_and_records_the_version() -> None:
    fake = FakeKms()
    keyring = GcpKmsKeyring(KMS_KEY, client=fake)

    envelope = seal(keyring, SECRET, AAD)

    assert envelope.kek_id == f"{KMS_KEY}/cryptoKeyVersions/1" == keyring.primary_key_id()
    assert open_envelope(keyring, envelope, AAD) == SECRET
    encrypt, decrypt = fake.requests
    assert encrypt.name == KMS_KEY and encrypt.plaintext_crc32c == _crc(encrypt.plaintext)
    assert decrypt.name == KMS_KEY and decrypt.ciphertext == envelope.wrapped_key
    assert decrypt.ciphertext_crc32c == _crc(envelope.wrapped_key)


@pytest.mark.parametrize(
    "corrupt, match", [("request", "request was corrupted"), ("response", "response was corrupted")]
)
def test_kms_encrypt_checksum_mismatch_is_refused(corrupt: str, match: str) -> None:
    fake = FakeKms()
    fake.corrupt = corrupt
    with pytest.raises(KeyringError, match=match):
        seal(GcpKmsKeyring(KMS_KEY, client=fake), SECRET, AAD)


def test_kms_decrypt_checksum_mismatch_is_refused() -> None:
    fake = FakeKms()
    keyring = GcpKmsKeyring(KMS_KEY, client=fake)
    envelope = seal(keyring, SECRET, AAD)
    fake.corrupt = "response"
    with pytest.raises(KeyringError, match="could not decrypt.*response was corrupted"):
        open_envelope(keyring, envelope, AAD)


def test_kms_errors_and_foreign_envelopes_become_keyring_errors(tmp_path: Path) -> None:
    fake = FakeKms()
    keyring = GcpKmsKeyring(KMS_KEY, client=fake)
    envelope = seal(keyring, SECRET, AAD)
    tampered = replace(envelope, wrapped_key=envelope.wrapped_key[:-1] + bytes([envelope.wrapped_key[-1] ^ 1]))
    with pytest.raises(KeyringError, match="could not decrypt.*Cloud KMS decrypt .* failed"):
        open_envelope(keyring, tampered, AAD)

    local_envelope = seal(LocalKeyring(tmp_path / "k.json"), SECRET, AAD)
    with pytest.raises(KeyringError, match="not a version of the configured Cloud KMS key"):
        open_envelope(keyring, local_envelope, AAD)

    with pytest.raises(KeyringError, match="Cloud KMS encrypt .* failed"):
        seal(GcpKmsKeyring(KMS_KEY.replace("credentials", "other"), client=fake), SECRET, AAD)


def test_kms_rotation_happens_in_kms_then_rewrap() -> None:
    fake = FakeKms()
    keyring = GcpKmsKeyring(KMS_KEY, client=fake)
    old = seal(keyring, SECRET, AAD)
    with pytest.raises(KeyringError, match="rotated in Cloud KMS"):
        keyring.rotate()

    new_version = fake.rotate()

    assert keyring.primary_key_id() == new_version
    assert open_envelope(keyring, old, AAD) == SECRET
    moved = rewrap(keyring, old)
    assert moved.kek_id == new_version and moved.ciphertext == old.ciphertext
    assert open_envelope(keyring, moved, AAD) == SECRET


def test_kms_key_name_must_be_a_crypto_key() -> None:
    with pytest.raises(KeyringError, match="not of the form"):
        GcpKmsKeyring(f"{KMS_KEY}/cryptoKeyVersions/1", client=FakeKms())


# -- selection by settings ---------------------------------------------------------------------------------------------


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **values: Any) -> Settings:
    for name in ("CLOUDACT_KEYRING", "CLOUDACT_KEYRING_PATH", "CLOUDACT_KMS_KEY_NAME"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def test_get_keyring_follows_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = get_keyring(_settings(tmp_path, monkeypatch))
    assert isinstance(local, LocalKeyring) and local.path == (tmp_path / "keyring.json").resolve()
    assert not local.path.exists()  # created on first use, not when selected

    kms = get_keyring(_settings(tmp_path, monkeypatch, keyring="gcp_kms", kms_key_name=KMS_KEY))
    assert isinstance(kms, GcpKmsKeyring) and kms.key_name == KMS_KEY

    with pytest.raises(SettingsError, match="CLOUDACT_KMS_KEY_NAME is required"):
        get_keyring(_settings(tmp_path, monkeypatch, keyring="gcp_kms"))
    with pytest.raises(SettingsError, match="a key, not a version"):
        get_keyring(_settings(tmp_path, monkeypatch, keyring="gcp_kms", kms_key_name="my-key"))
