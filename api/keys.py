"""API keys: ``Authorization: Bearer KEY``, each key with a name the audit trail records.

Keys come from ``API_KEYS`` (``name:key,name:key``) or, when unset, one dev key created in
the data directory (``api-key.dev``, printed by ``make run``). Only SHA-256 digests are
kept in memory, and a presented key is compared with every digest in constant time, so
neither a memory dump nor timing tells a key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from config import settings

DEV_KEY_FILE_NAME = "api-key.dev"
DEV_KEY_NAME = "dev"
KEY_NAME_CHARS = 64
MIN_KEY_CHARS = 16  # a key shorter than this is guessable: refused at start


class KeyConfigError(ValueError):
    """``API_KEYS`` cannot be read; the message says which entry and why."""


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class KeyRing:
    """Names by key digest."""

    digests: tuple[tuple[bytes, str], ...]

    @classmethod
    def of(cls, keys: dict[str, str]) -> KeyRing:
        """``{name: key}`` → a ring that no longer holds the keys themselves."""
        return cls(tuple((_digest(key), name) for name, key in keys.items()))

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        keys: dict[str, str] = {}
        for number, entry in enumerate(e.strip() for e in text.split(",")):
            if not entry:
                continue
            name, sep, key = entry.partition(":")
            name, key = name.strip(), key.strip()
            if not sep or not name or len(name) > KEY_NAME_CHARS:
                raise KeyConfigError(f"API_KEYS entry {number + 1}: expected name:key")
            if len(key) < MIN_KEY_CHARS:
                raise KeyConfigError(
                    f"API_KEYS entry {number + 1} ({name}): at least {MIN_KEY_CHARS} characters"
                )
            keys[name] = key
        if not keys:
            raise KeyConfigError("API_KEYS names no key")
        return cls.of(keys)

    def name_of(self, presented: str) -> str | None:
        """The key's name, or None. Every digest is compared, so the time taken does not
        depend on which key (if any) matched or how much of it did."""
        candidate = _digest(presented)
        found: str | None = None
        for digest, name in self.digests:
            if hmac.compare_digest(digest, candidate):
                found = name
        return found


def dev_key(data_dir: Path | None = None) -> str:
    """The dev key under the data directory, created on first use."""
    return settings.dev_secret((data_dir or settings.DATA_DIR) / DEV_KEY_FILE_NAME)


def keys_from_env(data_dir: Path | None = None) -> KeyRing:
    """``API_KEYS`` when set; otherwise the dev key (refused in production)."""
    configured = os.environ.get("API_KEYS")
    if configured:
        return KeyRing.parse(configured)
    if os.environ.get("WITHDRAWALS_ENV") == "production":
        raise KeyConfigError("API_KEYS must be set in production")
    return KeyRing.of({DEV_KEY_NAME: dev_key(data_dir)})
