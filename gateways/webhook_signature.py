"""Standard Webhooks signatures (https://www.standardwebhooks.com), both sides.

The sender signs ``"<webhook-id>.<webhook-timestamp>.<body>"`` with HMAC-SHA256 under
the secret (``whsec_<base64 key>``) and sends ``webhook-signature: v1,<base64 MAC>``
(several space-separated signatures are allowed, for key rotation). The receiver
recomputes it, compares in constant time, and refuses a timestamp outside its window:
a captured request cannot be replayed later (and the id is remembered within it).

While a secret is rotated, a setting holds a comma-separated list (``split_secrets``):
a receiver accepts a signature under any listed secret (``verify``), so a sender still
on the old one and a sender already on the new one both get through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
TOLERANCE_SECONDS = 5 * 60
MAX_ID_CHARS = 128
MAX_SIGNATURE_HEADER_CHARS = 1024


class WebhookVerificationError(ValueError):
    """Why a request is not a signed, fresh webhook; safe to log (no body, no secret)."""


def split_secrets(text: str) -> list[str]:
    """The secrets of a comma-separated setting, in order (the first is the one to sign
    with); blanks dropped. A malformed one raises ``ValueError``, as ``secret_key``."""
    listed = [secret.strip() for secret in text.split(",") if secret.strip()]
    for secret in listed:
        secret_key(secret)
    return listed


def secret_key(secret: str) -> bytes:
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret: whsec_<base64> expected") from None
    if len(key) < 16:
        raise ValueError("webhook secret: at least 16 bytes of key expected")
    return key


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    return keyed_signature(secret_key(secret), webhook_id, timestamp, body)


def keyed_signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64 MAC>`` under a secret's key bytes (what senders sign with)."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, webhook_id, timestamp, body),
    }


def verify(
    secrets: str | Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime
) -> str:
    """The ``webhook-id`` of a request within the window signed under any of ``secrets``
    (a list, or a comma-separated setting), else raise."""
    webhook_id = headers.get(ID_HEADER)
    timestamp_text = headers.get(TIMESTAMP_HEADER)
    signatures = headers.get(SIGNATURE_HEADER)
    if not webhook_id or not timestamp_text or not signatures:
        raise WebhookVerificationError("unsigned: webhook headers missing")
    if len(webhook_id) > MAX_ID_CHARS or len(signatures) > MAX_SIGNATURE_HEADER_CHARS:
        raise WebhookVerificationError("webhook headers too long")
    if not timestamp_text.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not a number")
    timestamp = int(timestamp_text)
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise WebhookVerificationError(
            f"webhook-timestamp outside the {TOLERANCE_SECONDS // 60}-minute window"
        )
    listed = split_secrets(secrets) if isinstance(secrets, str) else list(secrets)
    expected = [signature(secret, webhook_id, timestamp, body).encode() for secret in listed]
    # Every candidate is compared with every secret's signature, in constant time each,
    # whatever matched before: the time taken says nothing about which one matched.
    matched = False
    for candidate in signatures.split(" "):
        for one in expected:
            matched |= hmac.compare_digest(candidate.encode(), one)
    if not matched:
        raise WebhookVerificationError("webhook-signature does not match")
    return webhook_id
