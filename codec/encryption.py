"""Payload encryption: every Temporal payload leaves the process AES-GCM encrypted.

Workflow inputs carry payee names and account numbers; the Temporal server, its
database and whoever reads its history must see none of it. ``EncryptionCodec`` wraps
each payload (the whole serialised ``Payload``, metadata included) in AES-256-GCM:

- metadata ``encoding`` = ``binary/encrypted`` and ``encryption-key-id`` = the key's id,
  so keys can rotate: encrypt with the newest key, decrypt with any key still known;
- data = 12-byte random nonce + ciphertext; the key id is the associated data, so a
  payload cannot be re-labelled as encrypted under another key.

Keys (``KeyRing.from_env``), newest first:

1. ``PAYLOAD_KEYS="new-id:64 hex,old-id:64 hex"``;
2. else ``PAYLOAD_KEY_FILE``: one ``id:hex`` a line, newest first (``#`` comments);
3. else ``<data dir>/payload-keys``, generated with one random key on first use
   (a dev convenience: production sets 1 or 2 from its secret store).

Rotation: add the new key *second* everywhere (it decrypts), then move it first (it
encrypts); keep the old key as long as any history written with it may be read.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce
MAX_KEYS = 32  # a ring this long means old keys were never retired
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEV_KEY_FILE_NAME = "payload-keys"


class PayloadKeyError(ValueError):
    """A key definition that cannot be used; the message names the key id, never the key."""


class UnknownKeyError(ValueError):
    """A payload encrypted with a key this process does not have."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if not KEY_ID_PATTERN.match(self.key_id):
            raise PayloadKeyError(f"payload key id {self.key_id!r}: letters, digits, . _ - only")
        if len(self.secret) != KEY_BYTES:
            raise PayloadKeyError(f"payload key {self.key_id}: {KEY_BYTES} bytes (64 hex) expected")

    def __repr__(self) -> str:  # never print the secret
        return f"PayloadKey({self.key_id!r})"


@dataclass(frozen=True)
class KeyRing:
    """Keys newest first: ``keys[0]`` encrypts, every key decrypts."""

    keys: tuple[PayloadKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise PayloadKeyError("no payload keys")
        if len(self.keys) > MAX_KEYS:
            raise PayloadKeyError(f"at most {MAX_KEYS} payload keys")
        ids = [key.key_id for key in self.keys]
        if len(set(ids)) != len(ids):
            raise PayloadKeyError(f"payload key ids repeat: {ids}")

    @property
    def current(self) -> PayloadKey:
        return self.keys[0]

    def find(self, key_id: str) -> PayloadKey:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise UnknownKeyError(f"payload encrypted with unknown key {key_id!r}")

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """``id:hex`` items separated by commas or new lines, newest first."""
        keys = []
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        for raw in ",".join(lines).split(","):
            item = raw.strip()
            if not item:
                continue
            key_id, sep, hex_secret = item.partition(":")
            if not sep:
                raise PayloadKeyError("payload keys are written id:hex")
            try:
                secret = bytes.fromhex(hex_secret.strip())
            except ValueError:
                raise PayloadKeyError(f"payload key {key_id.strip()}: not hex") from None
            keys.append(PayloadKey(key_id.strip(), secret))
        return cls(tuple(keys))

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> KeyRing:
        configured = os.environ.get("PAYLOAD_KEYS")
        if configured:
            return cls.parse(configured)
        key_file = os.environ.get("PAYLOAD_KEY_FILE")
        if key_file:
            return cls.parse(Path(key_file).read_text())
        from config import settings

        if settings.is_production():
            raise settings.MissingSecret(
                "PAYLOAD_KEYS or PAYLOAD_KEY_FILE is not set; "
                "WITHDRAWALS_ENV=production has no dev default"
            )
        if data_dir is None:
            data_dir = settings.DATA_DIR
        return cls.parse(ensure_dev_key_file(data_dir / DEV_KEY_FILE_NAME).read_text())


def new_key_line(key_id: str | None = None) -> str:
    """One fresh ``id:hex`` line, for a key file or ``PAYLOAD_KEYS``."""
    return f"{key_id or 'key-' + secrets.token_hex(4)}:{secrets.token_hex(KEY_BYTES)}"


def ensure_dev_key_file(path: Path) -> Path:
    """Create ``path`` with one random key unless it exists; safe against a racing process.

    The key is written to a private temporary file and hard-linked into place, which
    fails if another process got there first: then its key is used, never a second one
    (a worker and a client with different dev keys could not read each other).
    """
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write("# dev payload keys, newest first (generated; see codec/encryption.py)\n")
            handle.write(new_key_line("dev-" + secrets.token_hex(4)) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads, key id in the metadata (see the module doc)."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys.keys}

    @property
    def key_ids(self) -> list[str]:
        return [key.key_id for key in self._keys.keys]

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key = self._keys.current
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[key.key_id].encrypt(
            nonce, payload.SerializeToString(), key.key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key.key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """Decrypt an encrypted payload; any other payload passes through unchanged."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode()
        self._keys.find(key_id)  # a clear error for a retired or foreign key
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = self._ciphers[key_id].decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise ValueError(f"payload under key {key_id!r} failed authentication") from None
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded
