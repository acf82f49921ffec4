"""The withdrawal workflow's side effects: ledger, SMS and payout provider.

Every activity is idempotent under the withdrawal id: a retry or a duplicate
delivery changes nothing twice. Business refusals leave as non-retryable
``ApplicationError``s whose ``type`` names the refusal; everything else is
transient and retried by Temporal.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eligibility import check_eligibility
from gateways.payout import (
    OriginalRoute,
    PayoutProvider,
    Transfer,
    TransferRejected,
    TransferRequest,
)
from gateways.sms import SmsProvider
from ledger import holds, tables, withdrawals
from ledger.db import run_in_transaction
from models.domain import Channel, Payee, Route, Status, WithdrawalRequest, mask_account_number
from models.errors import InputError, RuleRefusal
from models.limits import CODE_DIGITS
from models.messages import (
    CodeCheck,
    CodeRequest,
    CodeSent,
    Opened,
    ReviewerCheck,
    ReviewerVerdict,
    Settlement,
    StatusChange,
)

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class WithdrawalActivities:
    """Activities bound to one database and one pair of providers."""

    def __init__(
        self,
        engine: Engine,
        payout: PayoutProvider,
        sms: SmsProvider,
        code_key: bytes,
        *,
        callback_url: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._payout = payout
        self._sms = sms
        self._code_key = code_key
        self._callback_url = callback_url
        self._now = clock

    async def _in_transaction(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(run_in_transaction, self._engine, fn)

    # ---- verification and freezing ------------------------------------------------------
    @activity.defn
    async def open_withdrawal(self, request: WithdrawalRequest) -> Opened:
        """Record the withdrawal, check it (R1 R2 R5 R8 R9) and freeze the money (R14).

        Check and freeze share one transaction under the account lock; a refusal is
        written to the record in a second one so the user sees why.
        """
        now = self._now()
        await self._in_transaction(lambda s: withdrawals.create_withdrawal(s, request, now))

        def check_and_reserve(session: Session) -> Opened:
            eligibility = check_eligibility(session, request, now)
            hold = holds.reserve(
                session,
                withdrawal_id=request.withdrawal_id,
                account_id=request.account_id,
                order_id=request.order_id,
                amount=request.amount,
                now=now,
            )
            if eligibility.review_reasons:
                record = session.get(tables.Withdrawal, request.withdrawal_id)
                assert record is not None
                record.review_required = True
                session.add(record)
            return Opened(
                review_reasons=eligibility.review_reasons,
                channel=eligibility.channel,
                destination_masked=_destination(request, eligibility.channel),
                hold_amount=request.amount.__class__(hold.amount_fen),
                arrival_text=eligibility.arrival.text,
                arrival_latest=eligibility.arrival.latest,
            )

        try:
            return await self._in_transaction(check_and_reserve)
        except (RuleRefusal, InputError) as refusal:
            raise ApplicationError(
                str(refusal), type=type(refusal).__name__, non_retryable=True
            ) from None

    # ---- R15 verification code ----------------------------------------------------------
    @activity.defn
    async def send_code(self, order: CodeRequest) -> CodeSent:
        """Generate a fresh code, keep only its keyed hash, and text it to the bound
        phone. Each attempt sends a new code that replaces the previous one."""
        request, now, expires_at = order.request, order.sent_at, order.expires_at
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        code_hash = self._code_hash(request, code)

        def store(session: Session) -> str:
            account = session.get(tables.Account, request.account_id)
            if account is None:
                raise ApplicationError("R1: unknown account", non_retryable=True)
            row = session.get(tables.VerificationCode, request.withdrawal_id)
            if row is None:
                row = tables.VerificationCode(
                    withdrawal_id=request.withdrawal_id,
                    code_hash=code_hash,
                    expires_at=expires_at,
                    sent_at=now,
                )
            row.code_hash, row.expires_at, row.sent_at = code_hash, expires_at, now
            row.send_count += 1
            row.used = False
            session.add(row)
            return account.security_phone

        phone = await self._in_transaction(store)
        channel = await self._in_transaction(lambda s: _order_channel(s, request))
        text = (
            f"Your withdrawal verification code is {code}, valid for "
            f"{(expires_at - now).seconds // 60} minutes. Withdrawal of {request.amount} CNY to "
            f"{_destination(request, channel)}. Never share this code."
        )
        info = activity.info()
        await self._sms.send(
            phone,
            text,
            idempotency_key=f"{request.withdrawal_id}:{info.activity_id}:{info.attempt}",
        )
        return CodeSent(sent_at=now, expires_at=expires_at)

    @activity.defn
    async def check_code(self, check: CodeCheck) -> bool:
        """True once for the right, unexpired code; a used code never verifies again."""

        def verify(session: Session) -> bool:
            row = session.get(tables.VerificationCode, check.withdrawal_id)
            record = session.get(tables.Withdrawal, check.withdrawal_id)
            if row is None or record is None or row.used or check.at >= row.expires_at:
                return False
            expected = self._code_hash(_request_of(record), check.code)
            if not hmac.compare_digest(expected, row.code_hash):
                return False
            row.used = True
            session.add(row)
            return True

        return await self._in_transaction(verify)

    def _code_hash(self, request: WithdrawalRequest, code: str) -> str:
        # Bound to amount and payee: changing either invalidates the code.
        payee = request.payee.account_number if request.payee else "original"
        message = f"{request.withdrawal_id}|{code}|{request.amount.fen}|{payee}".encode()
        return hmac.new(self._code_key, message, hashlib.sha256).hexdigest()

    # ---- R17 review ---------------------------------------------------------------------
    @activity.defn
    async def check_reviewer(self, check: ReviewerCheck) -> ReviewerVerdict:
        """Only a registered reviewer who is not the applicant may decide."""

        def verdict(session: Session) -> ReviewerVerdict:
            reviewer = session.get(tables.Reviewer, check.reviewer_id)
            record = session.get(tables.Withdrawal, check.withdrawal_id)
            if reviewer is None:
                return ReviewerVerdict(allowed=False, why="not a registered reviewer")
            if record is None:
                return ReviewerVerdict(allowed=False, why="unknown withdrawal")
            applicants = {record.account_id, record.requested_by}
            if check.reviewer_id in applicants:
                return ReviewerVerdict(allowed=False, why="the applicant cannot review")
            return ReviewerVerdict(allowed=True, why=f"reviewer {reviewer.id}")

        return await self._in_transaction(verdict)

    @activity.defn
    async def record_status(self, change: StatusChange) -> None:
        now = self._now()

        def write(session: Session) -> None:
            withdrawals.set_withdrawal_status(
                session,
                change.withdrawal_id,
                change.status,
                now,
                note=change.note,
                reason=change.reason,
            )
            if change.review_overdue is not None:
                withdrawals.mark_review_overdue(
                    session, change.withdrawal_id, change.review_overdue
                )

        await self._in_transaction(write)

    # ---- payout ---------------------------------------------------------------------
    @activity.defn
    async def submit_payout(self, request: WithdrawalRequest) -> Transfer:
        """Look the key up first: an earlier attempt whose answer was lost may have
        moved the money already, and must never be treated as "not sent"."""
        existing = await self._payout.lookup(request.withdrawal_id)
        if existing is not None:
            return existing
        transfer = await self._in_transaction(lambda s: self._transfer_request(s, request))
        try:
            return await self._payout.submit(transfer)
        except TransferRejected as rejected:
            raise ApplicationError(
                rejected.reason, type="TransferRejected", non_retryable=True
            ) from None

    def _transfer_request(self, session: Session, request: WithdrawalRequest) -> TransferRequest:
        original = None
        if request.route is Route.ORIGINAL and request.order_id is not None:
            order = session.get(tables.RechargeOrder, request.order_id)
            assert order is not None, "an opened withdrawal's order exists"
            original = OriginalRoute(
                order_id=order.id,
                channel=Channel(order.channel),
                bank=order.bank,
                paid_at=order.paid_at,
            )
        return TransferRequest(
            idempotency_key=request.withdrawal_id,
            amount=request.amount,
            route=request.route,
            payee=request.payee,
            original=original,
            callback_url=self._callback_url,
        )

    @activity.defn
    async def check_payout(self, withdrawal_id: str) -> Transfer | None:
        return await self._payout.lookup(withdrawal_id)

    # ---- settlement -------------------------------------------------------------------
    @activity.defn
    async def settle(self, settlement: Settlement) -> None:
        """Post the hold on success, void it otherwise (R19), and write the final
        status, in one transaction. Running it twice changes nothing."""
        now = self._now()

        def resolve(session: Session) -> None:
            hold = holds.get_hold(session, settlement.withdrawal_id)
            if hold is not None:
                if settlement.status is Status.SUCCEEDED:
                    holds.post_hold(session, settlement.withdrawal_id, now)
                else:
                    holds.void_hold(session, settlement.withdrawal_id, now)
            record = session.get(tables.Withdrawal, settlement.withdrawal_id)
            if record is not None and record.status == settlement.status.value:
                return  # a retry after the commit: already written
            if settlement.provider_reference and record is not None:
                record.provider_reference = settlement.provider_reference
                session.add(record)
            withdrawals.set_withdrawal_status(
                session,
                settlement.withdrawal_id,
                settlement.status,
                now,
                note=settlement.note,
                reason=settlement.reason,
            )

        try:
            await self._in_transaction(resolve)
        except RuleRefusal as conflict:
            # A hold resolved the other way is a broken invariant: stop loudly.
            raise ApplicationError(
                str(conflict), type=type(conflict).__name__, non_retryable=True
            ) from None


def _destination(request: WithdrawalRequest, channel: Channel | None) -> str:
    """What the user sees of where the money goes: never a full account number."""
    if request.payee is not None:
        return f"{request.route.value} {mask_account_number(request.payee.account_number)}"
    return f"original route ({channel.value if channel else 'recharge channel'})"


def _order_channel(session: Session, request: WithdrawalRequest) -> Channel | None:
    if request.order_id is None:
        return None
    order = session.get(tables.RechargeOrder, request.order_id)
    return Channel(order.channel) if order else None


def _request_of(record: tables.Withdrawal) -> WithdrawalRequest:
    """Rebuild the hash inputs from the record, so a changed amount or payee fails."""
    from models.domain import Kind
    from models.money import Money

    payee = Payee.model_validate_json(record.payee_json) if record.payee_json else None
    return WithdrawalRequest(
        withdrawal_id=record.id,
        account_id=record.account_id,
        amount=Money(record.amount_fen),
        kind=Kind(record.kind),
        route=Route(record.route),
        order_id=record.order_id,
        payee=payee,
        proofs=json.loads(record.proofs_json),
    )
