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

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field

from models.domain import Channel, Payee, Route
from models.money import Money
from models.provider_reasons import ProviderReason, is_vocabulary, provider_reason


class TransferState(StrEnum):
    PROCESSING = "processing"  # accepted, not settled yet
    SUCCEEDED = "succeeded"  # money arrived (R18 提现成功)
    FAILED = "failed"  # refused or bounced; ``reason`` says why (R18 提现失败)
    # Paid, then sent back by the payee's bank or Alipay days later (issue 25): the money
    # left and came back. ``returned_at``, ``return_reason`` and ``returned_amount`` say
    # when, why and how much; the record never changes after this.
    RETURNED = "returned"


# States in which the money left the provider towards the payee (a return came after).
PAID_STATES = frozenset({TransferState.SUCCEEDED, TransferState.RETURNED})


class ReturnReason(StrEnum):
    """Why a provider sent a paid transfer back: a fixed list, so metrics stay bounded and
    a real adapter maps its own codes onto these (gateways/README.md)."""

    ACCOUNT_CLOSED = "account_closed"  # closed after it was credited
    NAME_MISMATCH = "name_mismatch"  # the bank's later check of the payee name failed
    CANNOT_RECEIVE = "cannot_receive"  # e.g. an Alipay account that cannot take transfers
    OTHER = "other"  # the provider's code had no match here; see the record's text


class OriginalRoute(BaseModel):
    """Where the recharge came from, for an original-route refund (R7, R8)."""

    order_id: str
    channel: Channel
    bank: str | None = None
    paid_at: datetime


class TransferRequest(BaseModel):
    idempotency_key: str  # the withdrawal id
    amount: Money
    route: Route
    payee: Payee | None = None  # designated routes (R9)
    original: OriginalRoute | None = None  # original route (R7)
    callback_url: str | None = None


class Transfer(BaseModel):
    """The provider's view of one transfer."""

    idempotency_key: str
    state: TransferState
    amount: Money
    # Once received (``as_received``): a ``ProviderReason`` word, never the provider's text.
    reason: str | None = None
    provider_reference: str | None = None
    updated_at: datetime | None = None
    # Who the provider pays, as a digest (no personal data in workflow history): the
    # workflow acts on a transfer only when key, amount and payee match its request.
    payee_digest: str | None = None
    # Set only in state ``returned`` (issue 25). Optional with defaults, so transfers in
    # running workflows' histories, recorded before returns existed, still read back.
    returned_at: datetime | None = None
    return_reason: ReturnReason | None = None
    # What came back; None means the whole amount. A different figure is parked for ops.
    returned_amount: Money | None = None
    # The provider's own words for ``reason``, which may name the payee: kept for the
    # workflow's (encrypted) history only; never written to the ledger, a webhook, a log,
    # a search attribute (so not in ``repr`` either). None in histories from before it.
    provider_text: str | None = Field(default=None, repr=False)
    # The route the provider pays by, when it says (the digest covers it as well).
    route: Route | None = None

    @property
    def amount_returned(self) -> Money:
        return self.returned_amount if self.returned_amount is not None else self.amount


def as_received(transfer: Transfer) -> Transfer:
    """The provider's record as the service takes it in: its free-text reason mapped to
    the vocabulary, the text moved to ``provider_text``. Mapping twice changes nothing."""
    if transfer.reason is None or is_vocabulary(transfer.reason):
        return transfer
    word = provider_reason(transfer.reason, ProviderReason.UNKNOWN)
    return transfer.model_copy(update={"reason": word.value, "provider_text": transfer.reason})


def payee_digest(route: Route, payee: Payee | None, order_id: str | None) -> str:
    """A stable digest of where a transfer pays: the payee's details, or the order whose
    original route it refunds (R7)."""
    where = payee.model_dump(mode="json") if payee is not None else {"order_id": order_id}
    text = json.dumps([route.value, where], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_payee_digest(request: TransferRequest) -> str:
    order_id = request.original.order_id if request.original is not None else None
    return payee_digest(request.route, request.payee, order_id)


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
