"""Configuration from the environment (docs/interface.md), read in one place."""

from __future__ import annotations

import os
from pathlib import Path

from models.money import Money

DEFAULT_TEMPORAL_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "withdrawals"
DATA_DIR = Path(os.environ.get("WITHDRAWALS_DATA_DIR", ".data"))
DEFAULT_UI_ORIGIN = "http://localhost:8233"
DEFAULT_CODEC_SERVER_PORT = 8804


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


def four_eyes_threshold() -> Money:
    """Above this amount two different reviewers must approve (``FOUR_EYES_THRESHOLD``)."""
    from models.limits import FOUR_EYES_THRESHOLD_YUAN

    return Money.yuan(os.environ.get("FOUR_EYES_THRESHOLD") or FOUR_EYES_THRESHOLD_YUAN)


def codec_server_token() -> str:
    """The bearer token the codec server asks for (``CODEC_SERVER_TOKEN``).

    A dev token is generated under ``.data/`` on first use, like the code key.
    """
    configured = os.environ.get("CODEC_SERVER_TOKEN")
    if configured:
        return configured
    return dev_secret(DATA_DIR / "codec-server.token")


def codec_server_origins(default_ui: str = DEFAULT_UI_ORIGIN) -> list[str]:
    """Browser origins allowed to call the codec server (``CODEC_SERVER_ORIGINS``,
    comma-separated): the Temporal Web UI only."""
    configured = os.environ.get("CODEC_SERVER_ORIGINS") or default_ui
    return [origin.strip().rstrip("/") for origin in configured.split(",") if origin.strip()]


def dev_secret(path: Path) -> str:
    """Read ``path``, creating it with a random token first; a racing process's token wins."""
    if not path.exists():
        import contextlib
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        temporary.write_text(secrets.token_urlsafe(32))
        temporary.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def webhook_urls() -> list[str]:
    """Where status events are posted (``WEBHOOK_URLS``, comma-separated); none by default."""
    configured = os.environ.get("WEBHOOK_URLS") or ""
    return [url.strip() for url in configured.split(",") if url.strip()]


def webhook_secret(data_dir: Path | None = None) -> str:
    """``WEBHOOK_SECRET`` (``whsec_…``), else a dev secret under the data directory."""
    configured = os.environ.get("WEBHOOK_SECRET")
    if configured:
        return configured
    if os.environ.get("WITHDRAWALS_ENV") == "production":
        raise RuntimeError("WEBHOOK_SECRET must be set in production")
    import base64
    import contextlib
    import secrets

    path = (data_dir or DATA_DIR) / "webhook-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        temporary.write_text("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
        temporary.chmod(0o600)
        with contextlib.suppress(FileExistsError):  # a racing process's secret wins
            os.link(temporary, path)
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def webhook_retry_seconds() -> tuple[float, float, float]:
    """(first interval, longest interval, whole window) of a delivery's retries."""
    from models.limits import (
        WEBHOOK_RETRY_INITIAL_SECONDS,
        WEBHOOK_RETRY_MAX_INTERVAL_SECONDS,
        WEBHOOK_RETRY_TOTAL_HOURS,
    )

    def number(name: str, default: float) -> float:
        return float(os.environ.get(name) or default)

    return (
        number("WEBHOOK_RETRY_INITIAL_SECONDS", WEBHOOK_RETRY_INITIAL_SECONDS),
        number("WEBHOOK_RETRY_MAX_INTERVAL_SECONDS", WEBHOOK_RETRY_MAX_INTERVAL_SECONDS),
        number("WEBHOOK_RETRY_TOTAL_SECONDS", WEBHOOK_RETRY_TOTAL_HOURS * 3600),
    )
