"""The payout provider interface: one class per real bank or Alipay adapter.

The withdrawal id is the idempotency key of every transfer: submitting the same key
twice must never move money twice, and a key whose submit outcome is unknown is
looked up before anything else is tried.

A provider's free-text reason is mapped to ``models.provider_reasons`` where it enters
(``as_received`` for a transfer, ``refusal`` for a refusal): ``reason`` then holds a word
of that vocabulary, and the raw text only ``Transfer.provider_text``, which goes nowhere
but the workflow's encrypted history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from models.provider_reasons import ProviderReason, provider_reason
from models.transfers import (
    PAID_STATES,
    OriginalRoute,
    ReturnReason,
    Transfer,
    TransferRequest,
    TransferState,
    as_received,
    payee_digest,
    request_payee_digest,
)


class ProviderError(Exception):
    """Base of provider failures."""


class TransientProviderError(ProviderError):
    """Timeout, 5xx, dropped connection: the outcome is unknown and may be retried
    (after a look-up) under the same idempotency key."""


class TransferRejected(ProviderError):
    """The provider refused the request for good (wrong account details, closed
    account, original route past its deadline, key reused with other details).

    ``reason`` (and the message) is a ``ProviderReason`` word when built by ``refusal``;
    ``provider_text`` the provider's own words, for the encrypted history only."""

    def __init__(self, reason: str, provider_text: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider_text = provider_text


def refusal(text: str | None) -> TransferRejected:
    """A provider's refusal as the service takes it in (see ``as_received``)."""
    word = provider_reason(text, ProviderReason.REFUSED_BY_PROVIDER)
    return TransferRejected(word.value, provider_text=text)


class KeyConflict(ProviderError):
    """The provider already holds a transfer under this idempotency key with other
    details (HTTP 409). Never a refusal of the withdrawal: a transfer exists under its
    key, so nothing may be released until the record is looked up and checked."""

    def __init__(self, provider_text: str | None = None) -> None:
        super().__init__(ProviderReason.KEY_CONFLICT.value)
        self.reason = ProviderReason.KEY_CONFLICT.value
        self.provider_text = provider_text


class PayoutProvider(Protocol):
    async def submit(self, request: TransferRequest) -> Transfer:
        """Accept the transfer (or return the first result for a known key)."""
        ...

    async def lookup(self, idempotency_key: str) -> Transfer | None:
        """The transfer under this key, or None if the provider never saw it."""
        ...

    def parse_callback(self, body: bytes) -> Transfer:
        """A provider notification, as the provider sent it."""
        ...

    async def list_transfers(
        self,
        limit: int = 1000,
        *,
        state: TransferState | None = None,
        updated_since: datetime | None = None,
    ) -> list[Transfer]:
        """Transfers the provider knows, for reconciliation: those in ``state`` and updated
        at or after ``updated_since`` when given (a return comes weeks after the payout,
        so a capped listing of everything would miss it)."""
        ...


# Transfer and its kin live in models/transfers.py; re-exported for the adapters.
__all__ = [
    "PAID_STATES",
    "KeyConflict",
    "OriginalRoute",
    "PayoutProvider",
    "ProviderError",
    "ReturnReason",
    "Transfer",
    "TransferRejected",
    "TransferRequest",
    "TransferState",
    "TransientProviderError",
    "as_received",
    "payee_digest",
    "refusal",
    "request_payee_digest",
]
