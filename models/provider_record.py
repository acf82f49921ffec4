"""The one check of a provider's transfer record (issue 22 item 1).

Every place the workflow learns a transfer's state (the look-up before a submit, the
submit's answer, a key conflict, the watch, a callback's confirmation, reconcile, ops'
resolution) asks ``check_record`` whether the provider's record is this withdrawal's
transfer before anything is acted on. Pure: no I/O, no clock.

The verdict names which kind of field differs, never the values: a payee mismatch says
"payee", not whose account the provider pays (no personal data reaches history, logs or
the audit trail through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.domain import Route, WithdrawalRequest
from models.money import Money
from models.transfers import Transfer, payee_digest


class RecordField(StrEnum):
    """What differs, in the order it is checked (the payee last, as one unit)."""

    KEY = "key"
    AMOUNT = "amount"
    ROUTE = "route"
    PAYEE = "payee"


_WHY = {
    RecordField.KEY: "the provider's record is for another key",
    RecordField.AMOUNT: "the provider's record is for another amount",
    RecordField.ROUTE: "the provider's record is for another route",
    RecordField.PAYEE: "the provider's record pays someone else than the withdrawal's payee",
}


@dataclass(frozen=True)
class ExpectedTransfer:
    """What this withdrawal's transfer must say: the withdrawal id as the key, the amount
    held, the route and the digest of where it pays (``models.transfers.payee_digest``)."""

    key: str
    amount: Money
    route: Route
    payee_digest: str

    @classmethod
    def of(cls, request: WithdrawalRequest) -> ExpectedTransfer:
        return cls(
            key=request.withdrawal_id,
            amount=request.amount,
            route=request.route,
            payee_digest=payee_digest(request.route, request.payee, request.order_id),
        )


@dataclass(frozen=True)
class RecordVerdict:
    """``mismatch`` is None when the record is this withdrawal's transfer."""

    mismatch: RecordField | None = None

    @property
    def matches(self) -> bool:
        return self.mismatch is None

    @property
    def why(self) -> str:
        """A line for the timeline and the audit trail (no payee detail)."""
        if self.mismatch is None:
            return "the provider's record matches the withdrawal"
        return f"{_WHY[self.mismatch]}; not acted on, money stays held"


def check_record(found: Transfer, expected: ExpectedTransfer) -> RecordVerdict:
    """Key, amount, route, then the payee digest. A provider that does not report the
    route is checked on it through the digest (which covers the route); a record without
    a payee digest cannot be shown to pay the withdrawal's payee, so it does not match."""
    if found.idempotency_key != expected.key:
        return RecordVerdict(RecordField.KEY)
    if found.amount != expected.amount:
        return RecordVerdict(RecordField.AMOUNT)
    if found.route is not None and found.route is not expected.route:
        return RecordVerdict(RecordField.ROUTE)
    if found.payee_digest != expected.payee_digest:
        return RecordVerdict(RecordField.PAYEE)
    return RecordVerdict()
