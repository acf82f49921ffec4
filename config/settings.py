"""Configuration from the environment (docs/interface.md), read in one place."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from models.money import Money

DEFAULT_TEMPORAL_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "withdrawals"
DATA_DIR = Path(os.environ.get("WITHDRAWALS_DATA_DIR", ".data"))
DEFAULT_UI_ORIGIN = "http://localhost:8233"
DEFAULT_CODEC_SERVER_PORT = 8804


def task_queue() -> str:
    return os.environ.get("TEMPORAL_TASK_QUEUE", DEFAULT_TASK_QUEUE)


class MissingSecret(RuntimeError):
    """A key or secret a production process needs is not configured: it stops at start."""


def environment() -> str:
    """``WITHDRAWALS_ENV``: ``dev`` (default) or ``production``."""
    return os.environ.get("WITHDRAWALS_ENV", "dev").strip().lower() or "dev"


def is_production() -> bool:
    return environment() == "production"


def _random_token() -> str:
    return secrets.token_urlsafe(32)


def _configured_or_dev(name: str, file_name: str, make: Callable[[], str]) -> str:
    """``name`` from the environment; in production nothing else will do, in dev a value
    created once, atomically, under the data directory and shared by every process."""
    configured = os.environ.get(name)
    if configured:
        return configured.strip()
    if is_production():
        raise MissingSecret(f"{name} is not set; WITHDRAWALS_ENV=production has no dev default")
    return dev_secret(DATA_DIR / file_name, make)


def code_key() -> bytes:
    """The HMAC key for verification-code hashes (R15), the same for every worker.

    From ``CODE_HASH_KEY`` (hex); in dev a key is created atomically under ``.data/`` on
    first use (a racing process's key wins), so a fresh clone just works.
    """
    text = _configured_or_dev("CODE_HASH_KEY", "code-hash.key", lambda: secrets.token_hex(32))
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise MissingSecret("CODE_HASH_KEY: hex expected") from None
    if len(key) < 16:
        raise MissingSecret("CODE_HASH_KEY: at least 16 bytes (32 hex) expected")
    return key


def payout_callback_secret() -> str:
    """The Standard Webhooks secret (``whsec_<base64>``) payout callbacks are signed with."""
    return _configured_or_dev(
        "PAYOUT_CALLBACK_SECRET",
        "payout-callback.secret",
        lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
    )


def review_signing_key() -> Ed25519PrivateKey:
    """The private key that signs authenticated decisions: only where reviewers sign in."""
    from models.decision_proof import private_key_from_text, private_key_text

    text = _configured_or_dev(
        "REVIEW_SIGNING_KEY",
        "review-signing.key",
        lambda: private_key_text(Ed25519PrivateKey.generate()),
    )
    return private_key_from_text(text)


def dev_review_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The dev signing key under ``data_dir`` (created atomically), for a stack a test or
    bench started: whoever holds it can sign decisions, so workers never get it."""
    from models.decision_proof import private_key_from_text, private_key_text

    return private_key_from_text(
        dev_secret(
            data_dir / "review-signing.key",
            lambda: private_key_text(Ed25519PrivateKey.generate()),
        )
    )


def review_verify_keys() -> list[Ed25519PublicKey]:
    """The public keys workers verify decisions with (``REVIEW_VERIFY_KEY``: one key, or a
    comma-separated list while the signing key is rotated; a proof verifies under any
    listed key). In dev the one key is derived from the dev signing key; a worker never
    needs the private key."""
    from models.decision_proof import public_key_text, public_keys_from_text

    configured = os.environ.get("REVIEW_VERIFY_KEY")
    if configured:
        return public_keys_from_text(configured)
    if is_production():
        raise MissingSecret(
            "REVIEW_VERIFY_KEY is not set; WITHDRAWALS_ENV=production has no dev default"
        )
    text = dev_secret(
        DATA_DIR / "review-verify.key",
        lambda: public_key_text(review_signing_key().public_key()),
    )
    return public_keys_from_text(text)


def check_production_secrets(*getters: Callable[[], object]) -> None:
    """Call each getter now, so a missing secret stops the process at start (production)
    rather than at the first withdrawal that needs it."""
    for getter in getters:
        getter()


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
    return _configured_or_dev("CODEC_SERVER_TOKEN", "codec-server.token", _random_token)


def codec_server_origins(default_ui: str = DEFAULT_UI_ORIGIN) -> list[str]:
    """Browser origins allowed to call the codec server (``CODEC_SERVER_ORIGINS``,
    comma-separated): the Temporal Web UI only."""
    configured = os.environ.get("CODEC_SERVER_ORIGINS") or default_ui
    return [origin.strip().rstrip("/") for origin in configured.split(",") if origin.strip()]


def dev_secret(path: Path, make: Callable[[], str] | None = None) -> str:
    """Read ``path``, creating it first with ``make()`` (a random token by default).

    Written to a private temporary file and hard-linked into place, which fails if a
    racing process got there first: then its value is used, never a second one (two
    workers with different code keys could not check each other's codes).
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write((make or (lambda: secrets.token_urlsafe(32)))())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def webhook_urls() -> list[str]:
    """Where status events are posted (``WEBHOOK_URLS``, comma-separated); none by default."""
    configured = os.environ.get("WEBHOOK_URLS") or ""
    return [url.strip() for url in configured.split(",") if url.strip()]


def webhook_secret(data_dir: Path | None = None) -> str:
    """``WEBHOOK_SECRET`` (``whsec_…``, or a comma-separated list of them while one is
    rotated: ``gateways.webhooks.secret_keys``), else a dev secret under the data directory."""
    configured = os.environ.get("WEBHOOK_SECRET")
    if configured:
        return configured
    if is_production():
        raise MissingSecret(
            "WEBHOOK_SECRET is not set; WITHDRAWALS_ENV=production has no dev default"
        )
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


DEFAULT_DISPLAY_TIMEZONE = "Asia/Shanghai"


def display_timezone() -> ZoneInfo:
    """``DISPLAY_TIMEZONE``: the zone the console shows times in (the API, webhooks and
    ``--json`` keep ISO 8601 with offset). An unknown zone stops the process at start."""
    name = (os.environ.get("DISPLAY_TIMEZONE") or "").strip() or DEFAULT_DISPLAY_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"DISPLAY_TIMEZONE: {name!r} is not an IANA time zone (e.g. Asia/Shanghai)"
        ) from None


def holidays_file() -> Path | None:
    """``HOLIDAYS_FILE``: holidays and make-up working days per year beside the calendar
    package's (docs/calendar.md); unset: the package alone."""
    configured = (os.environ.get("HOLIDAYS_FILE") or "").strip()
    return Path(configured) if configured else None
