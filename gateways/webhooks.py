"""Posting a status event to a backend's URL, signed as Standard Webhooks.

Headers: ``webhook-id`` (the event's id, the same on every attempt), ``webhook-timestamp``
(this attempt's time, seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">`` keyed by the secret's bytes). Each attempt is signed afresh:
a receiver refuses signatures older than five minutes, and retries run for a day.

``WEBHOOK_SECRET`` may list several secrets, comma-separated, while one is rotated: each
attempt then carries one signature per secret, space-separated (Standard Webhooks allows
it), so a receiver holding any one of them accepts it (docs/operations.md).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from gateways import webhook_signature
from gateways.webhook_signature import SECRET_PREFIX

SECRET_BYTES = 32
RESPONSE_EXCERPT_CHARS = 200


class WebhookSecretError(ValueError):
    """Not a ``whsec_<base64>`` secret."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_keys(secrets_text: str) -> list[bytes]:
    """The keys of a comma-separated ``WEBHOOK_SECRET`` list, in order; at least one."""
    keys = [secret_key(part.strip()) for part in secrets_text.split(",") if part.strip()]
    if not keys:
        raise WebhookSecretError("WEBHOOK_SECRET: no secret given")
    return keys


def secret_key(secret: str) -> bytes:
    try:
        return webhook_signature.secret_key(secret)
    except ValueError as error:
        raise WebhookSecretError(f"WEBHOOK_SECRET: {error}") from None


def sign(keys: Sequence[bytes], message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value: one ``v1,<mac>`` per key, space-separated."""
    return " ".join(
        webhook_signature.keyed_signature(key, message_id, timestamp, body.encode()) for key in keys
    )


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    error: str | None = None


async def post_event(
    client: httpx.AsyncClient,
    url: str,
    keys: Sequence[bytes],
    message_id: str,
    timestamp: int,
    body: str,
) -> DeliveryResult:
    """One attempt: delivered on a 2xx, else the error (status or transport) to retry on."""
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(keys, message_id, timestamp, body),
    }
    try:
        response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as error:
        return DeliveryResult(False, f"{type(error).__name__}: {error}"[:RESPONSE_EXCERPT_CHARS])
    if 200 <= response.status_code < 300:
        return DeliveryResult(True)
    return DeliveryResult(False, f"HTTP {response.status_code}")
