"""The payout as the ledger sees it: what to ask the provider for, whether the provider's
record is this withdrawal's transfer, and the audit rows of each provider call.

The provider call is the change; its audit row follows in its own transaction
(``record_submission``, ``record_callback``, ``record_mismatch``). A transfer is acted on
only when its key, amount, route and payee match the record (``matching``, through
``models.provider_record.check_record``).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ledger import audit, tables
from ledger.withdrawals import find, recorded_request
from models.domain import AccountStatus, Route, WithdrawalRequest
from models.messages import PayoutLookup
from models.provider_record import ExpectedTransfer, check_record
from models.transfers import OriginalRoute, Transfer, TransferRequest


def prepare_transfer(
    session: Session, request: WithdrawalRequest, callback_url: str | None
) -> tuple[TransferRequest, str | None]:
    """The transfer to submit, and the R1 refusal if the account may no longer be paid.

    A look-up, not a check that a write depends on: run it read-only."""
    return _transfer_request(session, request, callback_url), _account_refusal(session, request)


def record_submission(
    session: Session,
    request: WithdrawalRequest,
    transfer: Transfer | None,
    outcome: str,
    why: str,
    now: datetime,
) -> None:
    """The audit row of a submit: ``found``, ``submitted`` or ``refused`` (with why)."""
    state = f"provider state {transfer.state.value}" if transfer else why
    reference = transfer.provider_reference if transfer else None
    detail = f"{request.amount} via {request.route.value}; {state}"
    if reference:
        detail += f"; reference {reference}"
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="payout.submit",
        subject=request.withdrawal_id,
        outcome=outcome,
        detail=detail,
        at=now,
    )


def matching(session: Session, withdrawal_id: str, found: Transfer | None) -> PayoutLookup:
    """The provider's record, if it is this request's transfer (``check_record``)."""
    if found is None:
        return PayoutLookup()
    record = find(session, withdrawal_id)
    if record is None:
        return PayoutLookup(problem=f"no withdrawal {withdrawal_id} in the ledger")
    verdict = check_record(found, ExpectedTransfer.of(recorded_request(record)))
    if verdict.matches:
        return PayoutLookup(transfer=found)
    return PayoutLookup(problem=verdict.why, mismatch=verdict.mismatch)


def record_mismatch(
    session: Session, withdrawal_id: str, where: str, looked: PayoutLookup, now: datetime
) -> None:
    """The audit row of a provider record that was not acted on: where it was seen (the
    look-up before a submit, a key conflict, the watch, …) and which kind of field differs."""
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="payout.record",
        subject=withdrawal_id,
        outcome="mismatch",
        detail=f"{where}: {looked.problem}",
        at=now,
    )


def record_callback(
    session: Session,
    withdrawal_id: str,
    callback: Transfer,
    looked: PayoutLookup,
    now: datetime,
) -> None:
    """A callback being confirmed, audited: confirmed when the provider's own record
    agrees with it, ignored when it does not."""
    record = looked.transfer
    agrees = (
        record is not None
        and looked.problem is None
        and record.state is callback.state
        and record.amount == callback.amount
    )
    said = f"callback said {callback.state.value} {callback.amount}"
    seen = (
        looked.problem
        or (f"provider says {record.state.value} {record.amount}" if record else None)
        or "the provider knows no transfer"
    )
    audit.append(
        session,
        actor="payout-provider-callback",
        action="payout.callback",
        subject=withdrawal_id,
        outcome="confirmed" if agrees else "ignored",
        detail=f"{said}; {seen}",
        at=now,
    )


def _transfer_request(
    session: Session, request: WithdrawalRequest, callback_url: str | None
) -> TransferRequest:
    original = None
    if request.route is Route.ORIGINAL and request.order_id is not None:
        order = session.get(tables.RechargeOrder, request.order_id)
        assert order is not None, "an opened withdrawal's order exists"
        original = OriginalRoute(
            order_id=order.id,
            channel=order.channel,
            bank=order.bank,
            paid_at=order.paid_at,
        )
    return TransferRequest(
        idempotency_key=request.withdrawal_id,  # the withdrawal id: never paid twice
        amount=request.amount,
        route=request.route,
        payee=request.payee,
        original=original,
        callback_url=callback_url,
    )


def _account_refusal(session: Session, request: WithdrawalRequest) -> str | None:
    """R1 right before payout: the account must still be verified and normal."""
    account = session.get(tables.Account, request.account_id)
    if account is None:
        return "R1: unknown account"
    if not account.real_name_verified:
        return "R1: the account has not passed real-name verification"
    if account.status != AccountStatus.NORMAL.value:
        return f"R1: the account is {account.status}; the money is released"
    return None
