"""What a simulated provider does with a transfer: the magic payee rules.

The in-process fake (``standins.fakes``) and the HTTP simulator
(``standins.simulators.payout_app``) share these rules, so a workflow test against the
fake and an end-to-end run against the simulator see the same refusals and failures.

Refused at submit (HTTP 422, ``TransferRejected``; no money moves, nothing is recorded):
- original route past its R8 limit → ``original route expired: <channel> <bank> recharge
  paid <date>, limit ended <date> (R8)``
- original route with an unknown bank code, or online banking without one →
  ``invalid original route: ...``
- ``payee.account_number`` ending in ``0000`` → ``invalid account number``
- ``payee.name`` containing ``CLOSED`` (any case) → ``payee account closed``
- a bank payee without ``bank`` or ``branch_id`` →
  ``incomplete bank payee: branch details missing (R10)``
- no ``original`` on the original route, no ``payee`` on a designated one →
  ``malformed request: ...``

Accepted (money moves once), then ``failed`` at settlement:
- ``payee.account_number`` ending in ``4444`` → ``account closed at the receiving bank``
- ``original.order_id`` containing ``CLOSED`` (any case) →
  ``original paying account closed or cannot receive``

Accepted, succeeded, then ``returned`` by the provider a nominal 30 days later (issue 25):
- ``payee.account_number`` ending in ``5555`` → reason ``account_closed``
- ``original.order_id`` containing ``RETURNED`` (any case) → reason ``cannot_receive``

Everything else is accepted and later succeeds.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from gateways.payout import ReturnReason, Transfer, TransferRequest, TransferState
from models.business_days import (
    DESIGNATED_EARLIEST_BUSINESS_DAYS,
    DESIGNATED_LATEST_BUSINESS_DAYS,
    FAST_CHANNELS,
    ORIGINAL_BANK_CARD_BUSINESS_DAYS,
    ORIGINAL_FAST_ARRIVAL_HOURS,
)
from models.domain import Route
from models.errors import InputError
from models.provider_reasons import ProviderReason
from models.routes import original_route_deadline, original_route_open

INVALID_ACCOUNT_SUFFIX = "0000"
CLOSED_AFTER_ACCEPT_SUFFIX = "4444"
CLOSED_NAME_MARKER = "CLOSED"
RETURNED_ACCOUNT_SUFFIX = "5555"
RETURNED_ORDER_MARKER = "RETURNED"

INVALID_ACCOUNT_REASON = "invalid account number"
PAYEE_CLOSED_REASON = "payee account closed"
INCOMPLETE_BANK_PAYEE_REASON = "incomplete bank payee: branch details missing (R10)"
RECEIVING_BANK_CLOSED_REASON = "account closed at the receiving bank"
ORIGINAL_PAYER_CLOSED_REASON = "original paying account closed or cannot receive"
CONFLICTING_KEY_REASON = "idempotency key reused with different details"

# A nominal "business day" is 24 hours of simulated time: the simulator scales these
# delays down anyway, and calendar accuracy belongs to models.business_days.
NOMINAL_BUSINESS_DAY = timedelta(days=1)
LONGEST_NOMINAL_SETTLE_DELAY = DESIGNATED_LATEST_BUSINESS_DAYS * NOMINAL_BUSINESS_DAY
# A bank returns a credited transfer within weeks; the simulator scales this like
# settlement (about 20 s under `make run`'s 10 s settlement, about a second in tests).
NOMINAL_RETURN_DELAY = timedelta(days=30)


def refusal_at_submit(request: TransferRequest, now: datetime) -> str | None:
    """The reason the provider refuses ``request`` outright, or None if it accepts it."""
    if request.route is Route.ORIGINAL:
        return _original_route_refusal(request, now)
    payee = request.payee
    if payee is None:
        return "malformed request: a designated route needs a payee (R9)"
    if payee.account_number.endswith(INVALID_ACCOUNT_SUFFIX):
        return INVALID_ACCOUNT_REASON
    if CLOSED_NAME_MARKER in payee.name.upper():
        return PAYEE_CLOSED_REASON
    if request.route is Route.BANK and not (payee.bank and payee.branch_id):
        return INCOMPLETE_BANK_PAYEE_REASON
    return None


def _original_route_refusal(request: TransferRequest, now: datetime) -> str | None:
    original = request.original
    if original is None:
        return "malformed request: the original route needs the recharge details (R7)"
    try:
        is_open = original_route_open(original.channel, original.bank, original.paid_at, now)
        deadline = original_route_deadline(original.channel, original.bank, original.paid_at)
    except InputError as error:
        return f"invalid original route: {error}"
    if is_open:
        return None
    bank = f" {original.bank}" if original.bank else ""
    return (
        f"original route expired: {original.channel.value}{bank} recharge paid "
        f"{original.paid_at.date().isoformat()}, limit ended {deadline.date().isoformat()} (R8)"
    )


def failure_after_accept(request: TransferRequest) -> str | None:
    """The reason an accepted transfer fails at settlement, or None if it succeeds."""
    if request.original is not None and CLOSED_NAME_MARKER in request.original.order_id.upper():
        return ORIGINAL_PAYER_CLOSED_REASON
    if request.payee is not None and request.payee.account_number.endswith(
        CLOSED_AFTER_ACCEPT_SUFFIX
    ):
        return RECEIVING_BANK_CLOSED_REASON
    return None


def return_after_success(request: TransferRequest) -> ReturnReason | None:
    """Why the provider sends this transfer back after it succeeded, or None if it keeps it."""
    if request.original is not None and RETURNED_ORDER_MARKER in request.original.order_id.upper():
        return ReturnReason.CANNOT_RECEIVE
    if request.payee is not None and request.payee.account_number.endswith(RETURNED_ACCOUNT_SUFFIX):
        return ReturnReason.ACCOUNT_CLOSED
    return None


def returned(transfer: Transfer, reason: ReturnReason, at: datetime) -> Transfer:
    """The record of a succeeded transfer once its money came back; it never changes again."""
    assert transfer.state is TransferState.SUCCEEDED, "only a paid transfer is returned"
    return transfer.model_copy(
        update={
            "state": TransferState.RETURNED,
            "returned_at": at,
            "return_reason": reason,
            "reason": ProviderReason.RETURNED.value,  # the vocabulary word (issue 22)
            "updated_at": at,
        }
    )


def listed(
    transfers: list[Transfer],
    limit: int,
    state: TransferState | None,
    updated_since: datetime | None,
) -> list[Transfer]:
    """A provider listing's filters (state, updated at or after), then its cap."""
    chosen = [
        t
        for t in transfers
        if (state is None or t.state is state)
        and (updated_since is None or (t.updated_at is not None and t.updated_at >= updated_since))
    ]
    return chosen[:limit]


def same_details(first: TransferRequest, second: TransferRequest) -> bool:
    """Whether a repeated key describes the same transfer (the callback URL may differ)."""
    return (
        first.amount == second.amount
        and first.route == second.route
        and first.payee == second.payee
        and first.original == second.original
    )


def nominal_settle_delay(request: TransferRequest) -> timedelta:
    """R7/R9 arrival time before scaling.

    Original route: Alipay and online banking 1 hour, bank card 2 business days.
    Designated: 7 to 15 business days, spread by a hash of the key so that runs are
    reproducible and not every designated payout lands at the same moment.
    """
    if request.route is Route.ORIGINAL:
        original = request.original
        if original is not None and original.channel not in FAST_CHANNELS:
            return ORIGINAL_BANK_CARD_BUSINESS_DAYS * NOMINAL_BUSINESS_DAY
        return timedelta(hours=ORIGINAL_FAST_ARRIVAL_HOURS)
    spread = DESIGNATED_LATEST_BUSINESS_DAYS - DESIGNATED_EARLIEST_BUSINESS_DAYS + 1
    digest = hashlib.sha256(request.idempotency_key.encode("utf-8")).digest()
    days = DESIGNATED_EARLIEST_BUSINESS_DAYS + int.from_bytes(digest[:4], "big") % spread
    return days * NOMINAL_BUSINESS_DAY
