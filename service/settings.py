"""Configuration from the environment (CONTRACT.md), read in one place."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TEMPORAL_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "withdrawals"
DATA_DIR = Path(os.environ.get("WITHDRAWALS_DATA_DIR", ".data"))


def task_queue() -> str:
    return os.environ.get("TEMPORAL_TASK_QUEUE", DEFAULT_TASK_QUEUE)


def code_key() -> bytes:
    """The HMAC key for verification-code hashes (R15).

    From ``CODE_HASH_KEY`` (hex) in production; a dev key is generated under
    ``.data/`` on first use so a fresh clone just works.
    """
    configured = os.environ.get("CODE_HASH_KEY")
    if configured:
        return bytes.fromhex(configured)
    path = DATA_DIR / "code-hash.key"
    if not path.exists():
        import secrets

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def payout_callback_url() -> str | None:
    return os.environ.get("PAYOUT_CALLBACK_URL") or None
