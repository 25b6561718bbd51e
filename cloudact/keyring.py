"""Envelope encryption for provider credentials.

Every secret is sealed with its own random 256-bit data key (AES-256-GCM, 12-byte random nonce) and associated data
that binds it to its owner (e.g. ``b"acme/openai"``), so a ciphertext copied into another tenant's row does not open.
The data key is then wrapped by a key-encryption key (KEK) held by a :class:`Keyring`:

* :class:`LocalKeyring` keeps KEKs in a 0600 JSON file under the data directory (the embedded default);
* :class:`GcpKmsKeyring` wraps data keys with a Cloud KMS symmetric key (production).

Only the wrapped data key, nonce and ciphertext are stored (see :class:`Envelope`); rotating the KEK re-wraps the data
key with :func:`rewrap` and never touches the ciphertext. Error messages name keys, files and owners, never secrets.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudact.settings import SettingsError

if TYPE_CHECKING:
    from cloudact.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
_KMS_KEY_NAME = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+")


class KeyringError(Exception):
    """A key could not be loaded, used or trusted (wrong KEK, tampered data, missing file, unsafe permissions)."""


@runtime_checkable
class Keyring(Protocol):
    """Holds key-encryption keys and wraps/unwraps data keys with them."""

    def primary_key_id(self) -> str:
        """Id of the KEK that new envelopes are wrapped with."""
        ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Wrap a data key with the primary KEK; returns ``(kek_id, wrapped)``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        """Unwrap a data key wrapped by KEK ``kek_id``."""
        ...


@dataclass(frozen=True)
class Envelope:
    """A sealed secret: the wrapped data key, which KEK wrapped it, and the AES-GCM nonce and ciphertext.

    Attributes:
        kek_id: Id of the KEK that wrapped ``wrapped_key`` (a local key id or a Cloud KMS key version name).
        wrapped_key: The data key encrypted by the KEK.
        nonce: The 12-byte AES-GCM nonce used with the data key.
        ciphertext: The secret encrypted with the data key, GCM tag included.
    """

    kek_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def to_dict(self) -> dict[str, str]:
        """Text form for storage in a warehouse row or JSON column (binary fields as base64).

        Returns:
            ``{"kek_id", "wrapped_key", "nonce", "ciphertext"}`` (one column each).
        """
        return {
            "kek_id": self.kek_id,
            "wrapped_key": _b64(self.wrapped_key),
            "nonce": _b64(self.nonce),
            "ciphertext": _b64(self.ciphertext),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        """Read an envelope written by :meth:`to_dict`.

        Args:
            data: The stored mapping (a warehouse row; other columns are ignored).

        Returns:
            The envelope.

        Raises:
            KeyringError: A field is missing or not valid base64.
        """
        if not isinstance(data, Mapping):
            raise KeyringError(f"malformed envelope: expected a mapping, got {type(data).__name__}")
        missing = [name for name in ("kek_id", "wrapped_key", "nonce", "ciphertext") if not data.get(name)]
        if missing:
            raise KeyringError(f"malformed envelope: missing {', '.join(missing)}")
        envelope = cls(
            kek_id=str(data["kek_id"]),
            wrapped_key=_unb64(data["wrapped_key"], "wrapped_key"),
            nonce=_unb64(data["nonce"], "nonce"),
            ciphertext=_unb64(data["ciphertext"], "ciphertext"),
        )
        if len(envelope.nonce) != NONCE_BYTES:
            raise KeyringError(f"malformed envelope: nonce must be {NONCE_BYTES} bytes, got {len(envelope.nonce)}")
        return envelope


def seal(keyring: Keyring, plaintext: bytes, aad: bytes) -> Envelope:
    """Encrypt a secret under a fresh data key wrapped by the keyring's primary KEK.

    Args:
        keyring: Where the KEK lives.
        plaintext: The secret.
        aad: Associated data naming the owner (e.g. ``b"org_slug/provider"``); the same bytes are needed to open.

    Returns:
        The envelope to store.
    """
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    kek_id, wrapped = keyring.wrap(data_key)
    return Envelope(kek_id=kek_id, wrapped_key=wrapped, nonce=nonce, ciphertext=ciphertext)


def open_envelope(keyring: Keyring, envelope: Envelope, aad: bytes) -> bytes:
    """Decrypt an envelope made by :func:`seal`.

    Args:
        keyring: Keyring holding the KEK named by ``envelope.kek_id``.
        envelope: The stored envelope.
        aad: The associated data given to :func:`seal`.

    Returns:
        The plaintext secret.

    Raises:
        KeyringError: ``could not decrypt ...`` when the KEK is wrong or unknown, the associated data differs, or
            the envelope was altered.
    """
    owner = aad.decode("utf-8", errors="replace")
    try:
        data_key = keyring.unwrap(envelope.kek_id, envelope.wrapped_key)
    except KeyringError as exc:
        raise KeyringError(f"could not decrypt the secret of {owner!r}: {exc}") from None
    try:
        return AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, aad)
    except (InvalidTag, ValueError):
        # GCM does not tell a wrong owner from a modified ciphertext; both mean "do not trust this row".
        raise KeyringError(
            f"could not decrypt the secret of {owner!r}: the envelope belongs to another owner or was altered"
        ) from None


def rewrap(keyring: Keyring, envelope: Envelope) -> Envelope:
    """Re-wrap an envelope's data key with the keyring's primary KEK (after a rotation).

    The ciphertext and nonce are unchanged, so no associated data is needed and the secret is never decrypted.

    Args:
        keyring: Keyring holding both the envelope's KEK and the new primary.
        envelope: The stored envelope.

    Returns:
        The same secret, its data key now wrapped by the primary KEK.

    Raises:
        KeyringError: The envelope's KEK is unknown or its wrapped key was altered.
    """
    try:
        data_key = keyring.unwrap(envelope.kek_id, envelope.wrapped_key)
    except KeyringError as exc:
        raise KeyringError(f"could not decrypt the data key for re-wrapping: {exc}") from None
    kek_id, wrapped = keyring.wrap(data_key)
    return Envelope(kek_id=kek_id, wrapped_key=wrapped, nonce=envelope.nonce, ciphertext=envelope.ciphertext)


class LocalKeyring:
    """KEKs in a local JSON file (mode 0600, directory 0700), created on first use.

    File format: ``{"primary": id, "keys": [{"id", "created_at", "key": base64 of 32 bytes}]}``. Old KEKs are kept
    after :meth:`rotate` so envelopes wrapped before the rotation still open until they are re-wrapped.
    """

    def __init__(self, path: Path) -> None:
        """Use the keyring file at ``path`` (nothing is read or created until first use).

        Args:
            path: The keyring JSON file.
        """
        self.path = Path(path)

    def primary_key_id(self) -> str:
        """Id of the KEK that new envelopes are wrapped with (creates the keyring if needed)."""
        return self._load_or_create()["primary"]

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Wrap a data key with the primary KEK: AES-256-GCM, random nonce, KEK id as associated data.

        Args:
            data_key: The 32-byte data key.

        Returns:
            ``(kek_id, nonce || ciphertext)``.
        """
        state = self._load_or_create()
        kek_id = state["primary"]
        nonce = os.urandom(NONCE_BYTES)
        return kek_id, nonce + AESGCM(state["keys"][kek_id]).encrypt(nonce, data_key, kek_id.encode())

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        """Unwrap a data key wrapped by :meth:`wrap`.

        Args:
            kek_id: The KEK id recorded in the envelope.
            wrapped: ``nonce || ciphertext`` as returned by :meth:`wrap`.

        Returns:
            The data key.

        Raises:
            KeyringError: The file is missing or unsafe, the KEK is not in it, or the wrapped key was altered.
        """
        # Never create a keyring here: a fresh one could not open anything and would hide a wrong path.
        if not self.path.exists():
            raise KeyringError(
                f"keyring file {self.path} does not exist, so KEK {kek_id!r} is not available "
                "(wrong CLOUDACT_DATA_DIR / CLOUDACT_KEYRING_PATH, or the file was lost)"
            )
        keys = self._load()["keys"]
        if kek_id not in keys:
            raise KeyringError(f"KEK {kek_id!r} is not in keyring {self.path} (wrong keyring file?)")
        if len(wrapped) <= NONCE_BYTES:
            raise KeyringError(f"wrapped data key for KEK {kek_id!r} is truncated")
        try:
            data_key = AESGCM(keys[kek_id]).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], kek_id.encode())
        except InvalidTag:
            raise KeyringError(f"KEK {kek_id!r} in {self.path} does not open this data key (altered?)") from None
        if len(data_key) != KEY_BYTES:
            raise KeyringError(f"data key unwrapped by KEK {kek_id!r} has the wrong length")
        return data_key

    def rotate(self) -> str:
        """Add a new KEK and make it primary; older KEKs stay so their envelopes still open.

        Returns:
            The new KEK id. Re-wrap stored envelopes with :func:`rewrap` to move them to it.
        """
        with self._lock():
            state = self._load() if self.path.exists() else {"primary": "", "keys": {}, "created": {}}
            new_id = self._new_id(state["keys"])
            state["keys"][new_id] = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            state["created"][new_id] = _now()
            state["primary"] = new_id
            self._write(state)
        return new_id

    def key_ids(self) -> list[str]:
        """Ids of all KEKs in the file, oldest first (creates the keyring if needed)."""
        return list(self._load_or_create()["keys"])

    # -- file handling -------------------------------------------------------------------------------------------

    def _load_or_create(self) -> dict[str, Any]:
        if self.path.exists():
            return self._load()
        with self._lock():
            # Another process may have created it while we waited for the lock: never overwrite a keyring.
            if self.path.exists():
                return self._load()
            state: dict[str, Any] = {"primary": "", "keys": {}, "created": {}}
            kek_id = self._new_id(state["keys"])
            state["keys"][kek_id] = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            state["created"][kek_id] = _now()
            state["primary"] = kek_id
            self._write(state)
            return state

    def _load(self) -> dict[str, Any]:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise KeyringError(f"keyring file {self.path} does not exist") from None
        except OSError as exc:
            raise KeyringError(f"cannot open keyring file {self.path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            # fstat on the open descriptor: the file checked is the file read.
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            if mode & 0o077:
                raise KeyringError(
                    f"keyring file {self.path} is accessible by group/others (mode {mode:04o}); "
                    f"it holds the keys to every stored credential. Fix with: chmod 600 {self.path}"
                )
            raw = handle.read()
        try:
            doc = json.loads(raw)
            keys: dict[str, bytes] = {}
            created: dict[str, str] = {}
            for entry in doc["keys"]:
                key = base64.b64decode(entry["key"], validate=True)
                if len(key) != KEY_BYTES:
                    raise ValueError(f"key {entry['id']!r} is not {KEY_BYTES} bytes")
                keys[str(entry["id"])] = key
                created[str(entry["id"])] = str(entry.get("created_at", ""))
            primary = str(doc["primary"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            # The exception text names ids and lengths only; key material never reaches it.
            raise KeyringError(f"keyring file {self.path} is corrupt: {type(exc).__name__} {exc}") from None
        if primary not in keys:
            raise KeyringError(f"keyring file {self.path} is corrupt: primary {primary!r} is not among its keys")
        return {"primary": primary, "keys": keys, "created": created}

    def _write(self, state: dict[str, Any]) -> None:
        doc = {
            "primary": state["primary"],
            "keys": [
                {"id": kek_id, "created_at": state["created"][kek_id], "key": _b64(key)}
                for kek_id, key in state["keys"].items()
            ],
        }
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        # O_EXCL + 0600 at creation: the key is never on disk with looser permissions, not even for a moment.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(doc, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            # Atomic: readers see the old or the new keyring, never half of one.
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise creation and rotation across processes: a lost update would drop a KEK still in use."""
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(parents=True, mode=0o700)
            # mkdir's mode is filtered by the umask; set it explicitly on the directory we created.
            parent.chmod(0o700)
        fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _new_id(existing: dict[str, bytes]) -> str:
        while True:
            kek_id = f"local-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
            if kek_id not in existing:
                return kek_id


class GcpKmsKeyring:
    """Data keys wrapped by a Cloud KMS symmetric key (``ENCRYPT_DECRYPT`` purpose).

    The KEK never leaves KMS. ``wrap`` reports the key *version* KMS used as the KEK id; ``unwrap`` sends the key name
    and KMS picks the version from the ciphertext. Requests and responses carry CRC32C checksums, verified as Google's
    data-integrity guidelines describe (https://cloud.google.com/kms/docs/data-integrity-guidelines).
    """

    def __init__(self, key_name: str, client: Any = None) -> None:
        """Use the Cloud KMS key ``key_name``.

        Args:
            key_name: ``projects/P/locations/L/keyRings/R/cryptoKeys/K`` (the key, not a version).
            client: A ``google.cloud.kms.KeyManagementServiceClient``; built on first use when omitted, so that
                constructing the keyring needs neither credentials nor the KMS library import.

        Raises:
            KeyringError: ``key_name`` is not a crypto key resource name.
        """
        if not _KMS_KEY_NAME.fullmatch(key_name or ""):
            raise KeyringError(
                f"Cloud KMS key name {key_name!r} is not of the form projects/P/locations/L/keyRings/R/cryptoKeys/K"
            )
        self.key_name = key_name
        self._client = client

    @property
    def client(self) -> Any:
        """The KMS client (built lazily with Application Default Credentials)."""
        if self._client is None:
            from google.cloud import kms

            self._client = kms.KeyManagementServiceClient()
        return self._client

    def primary_key_id(self) -> str:
        """Name of the key's current primary version (one KMS call)."""
        with self._kms_errors("get_crypto_key"):
            key = self.client.get_crypto_key(request={"name": self.key_name})
        return str(key.primary.name)

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Encrypt a data key with the primary version of the KMS key.

        Args:
            data_key: The 32-byte data key.

        Returns:
            ``(crypto key version name, KMS ciphertext)``.

        Raises:
            KeyringError: KMS failed, or a checksum shows the request or response was corrupted in transit.
        """
        with self._kms_errors("encrypt"):
            response = self.client.encrypt(
                request={"name": self.key_name, "plaintext": data_key, "plaintext_crc32c": _crc32c(data_key)}
            )
        if not response.verified_plaintext_crc32c:
            raise KeyringError(f"Cloud KMS encrypt with {self.key_name}: the request was corrupted in transit")
        if response.ciphertext_crc32c != _crc32c(response.ciphertext):
            raise KeyringError(f"Cloud KMS encrypt with {self.key_name}: the response was corrupted in transit")
        # Google advises checking which key was used; a version of another key would be unreadable later.
        if not str(response.name).startswith(f"{self.key_name}/cryptoKeyVersions/"):
            raise KeyringError(f"Cloud KMS encrypted with {response.name!r}, not a version of {self.key_name}")
        return str(response.name), bytes(response.ciphertext)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        """Decrypt a data key wrapped by :meth:`wrap`.

        Args:
            kek_id: The key version recorded in the envelope (must belong to this key).
            wrapped: The KMS ciphertext.

        Returns:
            The data key.

        Raises:
            KeyringError: The envelope belongs to another KMS key, KMS refused, or a checksum mismatched.
        """
        if not kek_id.startswith(f"{self.key_name}/cryptoKeyVersions/"):
            raise KeyringError(f"KEK {kek_id!r} is not a version of the configured Cloud KMS key {self.key_name}")
        with self._kms_errors("decrypt"):
            response = self.client.decrypt(
                request={"name": self.key_name, "ciphertext": wrapped, "ciphertext_crc32c": _crc32c(wrapped)}
            )
        plaintext = bytes(response.plaintext)
        if response.plaintext_crc32c != _crc32c(plaintext):
            raise KeyringError(f"Cloud KMS decrypt with {self.key_name}: the response was corrupted in transit")
        if len(plaintext) != KEY_BYTES:
            raise KeyringError(f"data key unwrapped by {kek_id!r} has the wrong length")
        return plaintext

    def rotate(self) -> str:
        """Not done here: Cloud KMS owns the key versions.

        Raises:
            KeyringError: Always, telling the operator how to rotate.
        """
        raise KeyringError(
            f"Cloud KMS keys are rotated in Cloud KMS: create a new primary version of {self.key_name} "
            "(gcloud kms keys versions create --primary ..., or an automatic rotation schedule), "
            "then re-wrap the stored envelopes so they use it"
        )

    @contextlib.contextmanager
    def _kms_errors(self, operation: str) -> Iterator[None]:
        """Turn Google API errors into KeyringError (their messages carry status text, never our plaintext)."""
        from google.api_core import exceptions as gexc

        try:
            yield
        except (gexc.GoogleAPIError, gexc.RetryError) as exc:
            raise KeyringError(f"Cloud KMS {operation} with {self.key_name} failed: {exc}") from exc


def get_keyring(settings: Settings) -> Keyring:
    """The keyring the settings select.

    Args:
        settings: ``keyring`` is ``"local"`` (file at ``resolved_keyring_path``) or ``"gcp_kms"`` (``kms_key_name``).

    Returns:
        A :class:`LocalKeyring` or :class:`GcpKmsKeyring`.

    Raises:
        SettingsError: ``gcp_kms`` without a valid ``CLOUDACT_KMS_KEY_NAME``.
    """
    if settings.keyring == "gcp_kms":
        if not settings.kms_key_name:
            raise SettingsError("CLOUDACT_KMS_KEY_NAME is required when CLOUDACT_KEYRING=gcp_kms")
        if not _KMS_KEY_NAME.fullmatch(settings.kms_key_name):
            raise SettingsError(
                "CLOUDACT_KMS_KEY_NAME must be projects/P/locations/L/keyRings/R/cryptoKeys/K (a key, not a version)"
            )
        return GcpKmsKeyring(settings.kms_key_name)
    return LocalKeyring(settings.resolved_keyring_path)


def _crc32c(data: bytes) -> int:
    import google_crc32c  # installed with google-cloud-kms; imported late to keep local-only startup light

    return int(google_crc32c.value(bytes(data)))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"malformed envelope: {field} is not valid base64") from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (a crash right after os.replace could otherwise lose the new keyring)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
