"""The SMS provider interface (R15 verification codes go through it)."""

from __future__ import annotations

from typing import Protocol


class SmsError(Exception):
    """The SMS provider failed or timed out; sending may be retried."""


class SmsRejected(SmsError):
    """The provider refused the message for good (a malformed phone number, an empty
    text): sending it again will not help."""


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, *, idempotency_key: str) -> None:
        """Deliver ``text`` to ``phone``; the same key twice delivers once."""
        ...
