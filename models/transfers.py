"""What a payout provider and the service say about a transfer: the request sent, the
provider's view of it, its state, and the digest of whom it pays.

Plain data, shared by the workflow, the activities, the ledger and the providers'
clients; ``gateways.payout`` re-exports it beside the ``PayoutProvider`` interface. It
lives in ``models`` so that ``models`` imports nothing from ``gateways`` (issue 23).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum

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
