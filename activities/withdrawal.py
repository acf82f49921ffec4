"""The withdrawal workflow's side effects: ledger, SMS and payout provider.

Every activity is idempotent under the withdrawal id: a retry or a duplicate
delivery changes nothing twice. Business refusals leave as non-retryable
``ApplicationError``s whose ``type`` names the refusal; everything else is
transient and retried by Temporal.

Each change is written to the audit trail (``ledger.audit``) in the transaction that
makes it, refusals included. Nothing personal goes into results, errors or logs: a
payee appears masked, a verification code only in the SMS text handed to the provider.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.eligibility import check_eligibility
from gateways.payout import (
    OriginalRoute,
    PayoutProvider,
    Transfer,
    TransferRejected,
    TransferRequest,
    TransferState,
    payee_digest,
)
from gateways.sms import SmsProvider
from ledger import audit, holds, tables, withdrawals
from ledger.db import run_in_transaction, run_read_only
from ledger.decision_nonces import spend_decision_proof
from ledger.payout_resolution import record_resolution
from ledger.settlement import settle as settle_withdrawal
from models.authority import (
    CANCELLING_ROLES,
    applicants,
    approvals_required,
    decision_problem,
)
from models.domain import (
    AccountStatus,
    Channel,
    Kind,
    Payee,
    Route,
    Status,
    WithdrawalRequest,
)
from models.errors import InputError, RuleRefusal
from models.limits import CODE_DIGITS, FOUR_EYES_THRESHOLD_YUAN, MAX_CODE_ATTEMPTS, MAX_CODE_SENDS
from models.masks import mask_account_number
from models.messages import (
    CancelCheck,
    CancelVerdict,
    CodeCheck,
    CodeRequest,
    CodeSent,
    Opened,
    PayoutCheck,
    PayoutLookup,
    PayoutResolutionRequest,
    PayoutResolutionVerdict,
    PayoutWatch,
    ReviewDecisionKind,
    ReviewerCheck,
    ReviewerVerdict,
    Settlement,
    StatusChange,
)
from models.money import Money
from observability.metrics import PROVIDER_PAYOUT, PROVIDER_SMS, WithdrawalMetrics

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
        four_eyes_threshold: Money | None = None,
        metrics: WithdrawalMetrics | None = None,
        review_verify_key: Ed25519PublicKey | None = None,
    ) -> None:
        self._engine = engine
        self._payout = payout
        self._sms = sms
        self._code_key = code_key
        self._callback_url = callback_url
        self._now = clock
        self._four_eyes_threshold = four_eyes_threshold or Money.yuan(FOUR_EYES_THRESHOLD_YUAN)
        self._metrics = metrics or WithdrawalMetrics()
        # Only the public key: this process can check a reviewer's decision, never make
        # one. Without it no decision counts.
        self._review_verify_key = review_verify_key

    @property
    def engine(self) -> Engine:
        return self._engine

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
        newly_held = False

        def create(session: Session) -> None:
            new = session.get(tables.Withdrawal, request.withdrawal_id) is None
            withdrawals.create_withdrawal(session, request, now)
            if new:
                audit.append(
                    session,
                    actor=request.actor,
                    action="withdrawal.request",
                    subject=request.withdrawal_id,
                    outcome="recorded",
                    detail=_describe(request),
                    at=now,
                )

        def check_and_reserve(session: Session) -> Opened:
            nonlocal newly_held
            create(session)  # one transaction on the happy path: record, check, freeze
            record = session.get(tables.Withdrawal, request.withdrawal_id)
            assert record is not None
            if record.opened_json and holds.get_hold(session, request.withdrawal_id):
                # A retry after the first open committed (its answer was lost): the money
                # is frozen, so answer as the first time. Checking again could refuse
                # (account frozen, R8 deadline passed meanwhile) and strand the hold.
                return Opened.model_validate_json(record.opened_json)
            eligibility = check_eligibility(session, request, now)
            already_held = holds.get_hold(session, request.withdrawal_id) is not None
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
            required = approvals_required(
                request.amount, bool(eligibility.review_reasons), self._four_eyes_threshold
            )
            newly_held = not already_held
            if not already_held:
                review = "; ".join(eligibility.review_reasons) or "none (R16)"
                audit.append(
                    session,
                    actor=request.actor,
                    action="hold.reserve",
                    subject=request.withdrawal_id,
                    outcome="held",
                    detail=f"{request.amount} frozen; review: {review}; "
                    f"approvals required: {required}",
                    at=now,
                )
            opened = Opened(
                review_reasons=eligibility.review_reasons,
                channel=eligibility.channel,
                destination_masked=_destination(request, eligibility.channel),
                hold_amount=Money(hold.amount_fen),
                arrival_text=eligibility.arrival.text,
                arrival_latest=eligibility.arrival.latest,
                approvals_required=required,
                applicants=sorted(
                    applicants(
                        request.account_id, request.actor, eligibility.account.master_account_id
                    )
                ),
            )
            record.opened_json = opened.model_dump_json()
            session.add(record)
            return opened

        try:
            opened = await self._in_transaction(check_and_reserve)
        except (RuleRefusal, InputError) as refusal:
            # The checks' transaction rolled back; the refusal is recorded on its own.
            why = str(refusal)

            def record_refusal(session: Session) -> None:
                create(session)
                _release_stranded_hold(session, request.withdrawal_id, why, now)
                audit.append(
                    session,
                    actor=request.actor,
                    action="withdrawal.open",
                    subject=request.withdrawal_id,
                    outcome="refused",
                    detail=why,
                    at=now,
                )

            await self._in_transaction(record_refusal)
            raise ApplicationError(
                str(refusal), type=type(refusal).__name__, non_retryable=True
            ) from None
        if newly_held:  # counted once: a retry finds the hold and counts nothing
            self._metrics.withdrawal_started(route=request.route.value, kind=request.kind.value)
            activity.logger.info(
                "opened: %s frozen, route %s, review %s",
                opened.hold_amount,
                request.route.value,
                "required" if opened.review_reasons else "not required",
            )
        return opened

    # ---- R15 verification code ----------------------------------------------------------
    @activity.defn
    async def send_code(self, order: CodeRequest) -> CodeSent:
        """Generate a fresh code, text it to the bound phone, and only once the provider
        accepted it, let its keyed hash replace the previous code's. A send that fails
        leaves the code the user already has working (R15).

        Every SMS handed to the provider counts against ``MAX_CODE_SENDS``, retries of
        this activity included, so the phone never receives more than the limit."""
        request, now, expires_at = order.request, order.sent_at, order.expires_at
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        code_hash = self._code_hash(request, code)

        def count(session: Session) -> tuple[str, Channel | None]:
            account = session.get(tables.Account, request.account_id)
            if account is None:
                raise ApplicationError("R1: unknown account", non_retryable=True)
            row = session.get(tables.VerificationCode, request.withdrawal_id)
            if row is None:  # the first code: there is no earlier code to keep working
                row = tables.VerificationCode(
                    withdrawal_id=request.withdrawal_id,
                    code_hash=code_hash,
                    expires_at=expires_at,
                    sent_at=now,
                )
            if row.send_count >= MAX_CODE_SENDS:
                raise ApplicationError(
                    f"R15: at most {MAX_CODE_SENDS} codes per withdrawal",
                    type="CodeSendLimit",
                    non_retryable=True,
                )
            row.send_count += 1
            session.add(row)
            return account.security_phone, _order_channel(session, request)

        def swap(session: Session) -> None:
            row = session.get(tables.VerificationCode, request.withdrawal_id)
            assert row is not None, "counted before sending"
            row.code_hash, row.expires_at, row.sent_at = code_hash, expires_at, now
            row.used = False
            session.add(row)
            record = session.get(tables.Withdrawal, request.withdrawal_id)
            if record is not None and record.status == Status.VERIFYING.value:
                # What ``list`` shows: the user now holds a code (R18 *beyond*).
                withdrawals.set_withdrawal_status(
                    session,
                    request.withdrawal_id,
                    Status.AWAITING_CODE,
                    now,
                    note="verification code sent",
                )
            audit.append(
                session,
                actor=audit.SYSTEM_ACTOR,
                action="code.send",
                subject=request.withdrawal_id,
                outcome="sent",
                detail=f"SMS {row.send_count} of at most {MAX_CODE_SENDS}, code valid until "
                f"{expires_at.isoformat()}",
                at=self._now(),
            )

        phone, channel = await self._in_transaction(count)
        text = (
            f"Your withdrawal verification code is {code}, valid for "
            f"{(expires_at - now).seconds // 60} minutes. Withdrawal of {request.amount} CNY to "
            f"{_destination(request, channel)}. Never share this code."
        )
        info = activity.info()
        try:
            await self._sms.send(
                phone,
                text,
                idempotency_key=f"{request.withdrawal_id}:{info.activity_id}:{info.attempt}",
            )
        except Exception as error:
            self._metrics.provider_error(provider=PROVIDER_SMS, error=error)
            raise
        self._metrics.sms_sent()
        await self._in_transaction(swap)
        return CodeSent(sent_at=now, expires_at=expires_at)

    @activity.defn
    async def check_code(self, check: CodeCheck) -> bool:
        """True once for the right, unexpired code; a used code never verifies again.

        The ledger counts attempts too (R15), so the limit holds even if a workflow's
        count were lost; ``check.attempt`` makes a retried check answer as the first.
        """
        now = self._now()

        def verify(session: Session) -> bool:
            row = session.get(tables.VerificationCode, check.withdrawal_id)
            record = session.get(tables.Withdrawal, check.withdrawal_id)
            if row is None or record is None:
                return False
            if 0 < check.attempt <= row.attempts:  # a retry of a counted attempt
                return row.used and check.attempt == row.attempts
            outcome = self._code_outcome(row, record, check)
            row.attempts += 1
            row.used = row.used or outcome == "verified"
            session.add(row)
            audit.append(
                session,
                actor=record.requested_by or record.account_id,
                action="code.check",
                subject=check.withdrawal_id,
                outcome=outcome,
                detail=f"attempt {row.attempts} of {MAX_CODE_ATTEMPTS}",
                at=now,
            )
            return outcome == "verified"

        return await self._in_transaction(verify)

    def _code_outcome(
        self, row: tables.VerificationCode, record: tables.Withdrawal, check: CodeCheck
    ) -> str:
        if row.attempts >= MAX_CODE_ATTEMPTS:
            return "locked"
        if row.used:
            return "used"
        if check.at >= row.expires_at:
            return "expired"
        expected = self._code_hash(_request_of(record), check.code)
        return "verified" if hmac.compare_digest(expected, row.code_hash) else "wrong"

    def _code_hash(self, request: WithdrawalRequest, code: str) -> str:
        """Keyed (HMAC-SHA256), and bound to the withdrawal, its amount and its payee:
        a code shown for one payout cannot confirm another (changing either fails)."""
        payee = request.payee
        bound = [request.withdrawal_id, code, str(request.amount.fen), request.route.value]
        bound += [payee.account_number, payee.name] if payee else ["original"]
        message = json.dumps(bound, separators=(",", ":"), ensure_ascii=False).encode()
        return hmac.new(self._code_key, message, hashlib.sha256).hexdigest()

    # ---- R17 review ---------------------------------------------------------------------
    @activity.defn
    async def review_decision(self, check: ReviewerCheck) -> ReviewerVerdict:
        """Weigh one approve/reject (``models.authority``) and record it: the decision
        row, the timeline and the audit trail, in one transaction. Idempotent under
        ``(withdrawal, sequence)``: a retry returns the verdict recorded first."""
        now = self._now()
        review_began: datetime | None = None

        def weigh(session: Session) -> ReviewerVerdict:
            existing = session.exec(
                select(tables.ReviewDecisionRecord).where(
                    tables.ReviewDecisionRecord.withdrawal_id == check.withdrawal_id,
                    tables.ReviewDecisionRecord.sequence == check.sequence,
                )
            ).first()
            if existing is not None:
                return ReviewerVerdict(
                    allowed=existing.accepted, why=existing.why, role=existing.role
                )
            record = session.get(tables.Withdrawal, check.withdrawal_id)
            if record is None:
                raise ApplicationError(
                    f"unknown withdrawal {check.withdrawal_id}", type="NotFound", non_retryable=True
                )
            if check.refused is not None:
                verdict = ReviewerVerdict(allowed=False, why=check.refused, refused=True)
            else:
                problem = self._spend_proof(
                    session,
                    check.proof,
                    withdrawal_id=check.withdrawal_id,
                    reviewer_id=check.reviewer_id,
                    decision=check.decision.value,
                    comment=check.comment,
                    received_at=check.at or now,
                )
                if problem is None:
                    verdict = _weigh(session, record, check)
                else:
                    verdict = ReviewerVerdict(allowed=False, why=problem, refused=True)
            _record_decision(session, check, verdict, at=check.at or now)
            if _decides_review(check, verdict):
                nonlocal review_began
                review_began = withdrawals.entered_status_at(
                    session, check.withdrawal_id, Status.UNDER_REVIEW
                )
            return verdict

        verdict = await self._in_transaction(weigh)
        if review_began is not None:
            self._metrics.review_decided(
                decision=check.decision.value, waited=(check.at or now) - review_began
            )
        return verdict

    def _spend_proof(
        self,
        session: Session,
        proof: str | None,
        *,
        withdrawal_id: str,
        reviewer_id: str,
        decision: str,
        comment: str,
        received_at: datetime,
    ) -> str | None:
        return spend_decision_proof(
            session,
            proof,
            self._review_verify_key,
            withdrawal_id=withdrawal_id,
            reviewer_id=reviewer_id,
            decision=decision,
            comment=comment,
            received_at=received_at,
            now=self._now(),
        )

    # ---- R2/R18 cancel --------------------------------------------------------------
    @activity.defn
    async def authorize_cancel(self, check: CancelCheck) -> CancelVerdict:
        """Whether this cancel may go ahead, recorded in the audit trail either way.

        ``by`` is asserted by the caller (the operator at the CLI, a backend's API key) and
        recorded as asserted: it counts only for the applicant or its master account (R2).
        A reviewer's cancel needs a proof of an authenticated ``ops`` or ``lead`` reviewer.
        """
        now = self._now()

        def decide(session: Session) -> CancelVerdict:
            record = session.get(tables.Withdrawal, check.withdrawal_id)
            if record is None:
                raise ApplicationError(
                    f"unknown withdrawal {check.withdrawal_id}", type="NotFound", non_retryable=True
                )
            request = check.request
            if request.reviewer_id is not None or request.proof is not None:
                verdict = self._reviewer_cancel(session, check)
            else:
                account = session.get(tables.Account, record.account_id)
                allowed = applicants(
                    record.account_id,
                    record.requested_by,
                    account.master_account_id if account else None,
                )
                by = (request.by or record.requested_by or record.account_id)[:64]
                if by in allowed:
                    verdict = CancelVerdict(
                        allowed=True, why=f"cancel asserted by {by}, the applicant (R2)", actor=by
                    )
                else:
                    verdict = CancelVerdict(
                        allowed=False,
                        why=f"R2: {by} is neither the applicant nor its master account; "
                        "only they, or an ops or lead reviewer, may cancel",
                        actor=by,
                    )
            audit.append(
                session,
                actor=verdict.actor,
                action="withdrawal.cancel",
                subject=check.withdrawal_id,
                outcome="authorised" if verdict.allowed else "refused",
                detail=verdict.why,
                at=now,
            )
            return verdict

        return await self._in_transaction(decide)

    def _reviewer_cancel(self, session: Session, check: CancelCheck) -> CancelVerdict:
        reviewer_id = (check.request.reviewer_id or "unknown")[:64]
        problem = self._spend_proof(
            session,
            check.request.proof,
            withdrawal_id=check.withdrawal_id,
            reviewer_id=reviewer_id,
            decision="cancel",
            comment="",
            received_at=check.at,
        )
        reviewer = session.get(tables.Reviewer, reviewer_id)
        role = reviewer.role if reviewer is not None else None
        if problem is None and role not in CANCELLING_ROLES:
            problem = f"role {role!r} may not cancel; ops or lead may"
        if problem is not None:
            return CancelVerdict(
                allowed=False,
                why=f"R18: cancel by {reviewer_id} refused: {problem}",
                actor=reviewer_id,
            )
        return CancelVerdict(
            allowed=True, why=f"cancel by {role} {reviewer_id}, authenticated", actor=reviewer_id
        )

    @activity.defn
    async def record_status(self, change: StatusChange) -> None:
        now = self._now()

        def write(session: Session) -> tuple[str, str] | None:
            repeat = withdrawals.is_repeat(
                session, change.withdrawal_id, change.status, change.note
            )
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
            if change.payout_unknown is not None:
                withdrawals.mark_payout_unknown(
                    session, change.withdrawal_id, change.payout_unknown
                )
            if repeat:
                return None
            audit.append(
                session,
                actor=change.actor,
                action=f"status.{change.status.value}",
                subject=change.withdrawal_id,
                outcome="recorded",
                detail=_note(change.note, change.reason),
                at=now,
            )
            record = session.get(tables.Withdrawal, change.withdrawal_id)
            return (record.route, record.kind) if record is not None else None

        written = await self._in_transaction(write)
        if written is not None and change.status.is_final:  # a refusal at opening
            route, kind = written
            self._metrics.withdrawal_finished(status=change.status.value, route=route, kind=kind)

    # ---- payout ---------------------------------------------------------------------
    @activity.defn
    async def submit_payout(self, request: WithdrawalRequest) -> Transfer:
        """Look the key up first: an earlier attempt whose answer was lost may have
        moved the money already, and must never be treated as "not sent"."""
        existing = await self._provider_call(self._payout.lookup(request.withdrawal_id))
        if existing is not None:
            await self._audit_payout(request, existing, "found")
            return existing
        # A look-up, not a check that a write depends on: no write lock.
        transfer, refusal = await asyncio.to_thread(
            run_read_only,
            self._engine,
            lambda s: (self._transfer_request(s, request), _account_refusal(s, request)),
        )
        if refusal is not None:
            # R1 again right before money moves: frozen or closed during review.
            await self._audit_payout(request, None, "refused", refusal)
            raise ApplicationError(refusal, type="AccountNotEligible", non_retryable=True)
        try:
            accepted = await self._provider_call(self._payout.submit(transfer))
        except TransferRejected as rejected:
            await self._audit_payout(request, None, "refused", rejected.reason)
            raise ApplicationError(
                rejected.reason, type="TransferRejected", non_retryable=True
            ) from None
        await self._audit_payout(request, accepted, "submitted")
        return accepted

    async def _audit_payout(
        self,
        request: WithdrawalRequest,
        transfer: Transfer | None,
        outcome: str,
        why: str = "",
    ) -> None:
        """The provider call is the change; its record follows in its own transaction."""
        state = f"provider state {transfer.state.value}" if transfer else why
        reference = transfer.provider_reference if transfer else None
        detail = f"{request.amount} via {request.route.value}; {state}"
        if reference:
            detail += f"; reference {reference}"
        now = self._now()
        await self._in_transaction(
            lambda s: audit.append(
                s,
                actor=audit.SYSTEM_ACTOR,
                action="payout.submit",
                subject=request.withdrawal_id,
                outcome=outcome,
                detail=detail,
                at=now,
            )
        )

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
        return await self._provider_call(self._payout.lookup(withdrawal_id))

    async def _provider_call(self, call: Awaitable[T]) -> T:
        """A payout provider call, its failures counted by kind (ops alert on them)."""
        try:
            return await call
        except Exception as error:
            self._metrics.provider_error(provider=PROVIDER_PAYOUT, error=error)
            raise

    @activity.defn
    async def confirm_payout(self, check: PayoutCheck) -> PayoutLookup:
        """The provider's own record of the transfer, acted on only when key, amount and
        payee match the request. A callback being confirmed is audited: confirmed when
        the record agrees with it, ignored when it does not."""
        found = await self._payout.lookup(check.withdrawal_id)
        looked = await self._in_transaction(lambda s: _matching(s, check.withdrawal_id, found))
        if check.callback is not None:
            await self._audit_callback(check, looked)
        return looked

    @activity.defn
    async def watch_payout(self, watch: PayoutWatch) -> PayoutLookup:
        """One look-up; "not yet" is a retryable failure, so Temporal's retries (capped
        interval, no limit) are the polling loop and add nothing to the history."""
        found = await self._payout.lookup(watch.withdrawal_id)
        looked = await self._in_transaction(lambda s: _matching(s, watch.withdrawal_id, found))
        if looked.problem is not None or looked.transfer is None:
            if looked.problem is not None:
                return looked
            raise _pending("the provider knows no transfer yet")
        if watch.until_final and looked.transfer.state is TransferState.PROCESSING:
            raise _pending("the transfer is still processing")
        return looked

    @activity.defn
    async def resolve_payout(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        """Weigh and record an ops resolution (``ledger.payout_resolution``)."""
        now = self._now()
        return await self._in_transaction(
            lambda s: record_resolution(s, request, now, self._review_verify_key)
        )

    async def _audit_callback(self, check: PayoutCheck, looked: PayoutLookup) -> None:
        callback = check.callback
        assert callback is not None
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
        now = self._now()
        await self._in_transaction(
            lambda s: audit.append(
                s,
                actor="payout-provider-callback",
                action="payout.callback",
                subject=check.withdrawal_id,
                outcome="confirmed" if agrees else "ignored",
                detail=f"{said}; {seen}",
                at=now,
            )
        )

    # ---- settlement -------------------------------------------------------------------
    @activity.defn
    async def settle(self, settlement: Settlement) -> None:
        """Post the hold on success, void it otherwise (R19), and write the final
        status, in one transaction. Running it twice changes nothing."""
        now = self._now()

        def resolve(session: Session) -> Finished | None:
            wrote = settle_withdrawal(
                session,
                withdrawal_id=settlement.withdrawal_id,
                status=settlement.status,
                note=settlement.note,
                reason=settlement.reason,
                provider_reference=settlement.provider_reference,
                actor=settlement.actor,
                now=now,
            )
            record = session.get(tables.Withdrawal, settlement.withdrawal_id)
            if not wrote or record is None:
                return None  # a retry after the commit: counted the first time
            return Finished(record.route, record.kind, _payout_submitted_at(session, record.id))

        try:
            finished = await self._in_transaction(resolve)
        except RuleRefusal as conflict:
            # A hold resolved the other way is a broken invariant: stop loudly.
            raise ApplicationError(
                str(conflict), type=type(conflict).__name__, non_retryable=True
            ) from None
        if finished is not None:  # counted once: a retry finds the status written
            status = settlement.status.value
            activity.logger.info("finished: %s", status)
            self._metrics.withdrawal_finished(
                status=status, route=finished.route, kind=finished.kind
            )
            if finished.payout_submitted_at is not None:
                self._metrics.payout_finished(
                    route=finished.route,
                    status=status,
                    latency=now - finished.payout_submitted_at,
                )


@dataclass(frozen=True)
class Finished:
    """What the metrics need of a withdrawal ``settle`` just ended (no ids, nothing personal)."""

    route: str
    kind: str
    payout_submitted_at: datetime | None


def _payout_submitted_at(session: Session, withdrawal_id: str) -> datetime | None:
    """When the provider first took the transfer (the audit trail's payout row)."""
    for entry in audit.entries(session, subject=withdrawal_id):
        if entry.action == "payout.submit" and entry.outcome in ("submitted", "found"):
            return entry.at
    return None


def _decides_review(check: ReviewerCheck, verdict: ReviewerVerdict) -> bool:
    """This decision ends the review: an accepted rejection, or the last approval needed."""
    if not verdict.allowed:
        return False
    if check.decision is ReviewDecisionKind.REJECT:
        return True
    return len(set(check.approvals_so_far)) + 1 >= check.approvals_required


def _pending(why: str) -> ApplicationError:
    """A poll that found no news: benign (logged at DEBUG), retried as the next poll."""
    return ApplicationError(why, type="PayoutPending", category=ApplicationErrorCategory.BENIGN)


def _release_stranded_hold(session: Session, withdrawal_id: str, why: str, now: datetime) -> None:
    """A refusal after the money was frozen (a retried open whose first attempt committed)
    must not strand the hold: release it with the refusal (R19)."""
    hold = holds.get_hold(session, withdrawal_id)
    if hold is None or hold.state != tables.HoldState.HELD.value:
        return
    holds.void_hold(session, withdrawal_id, now)
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="hold.void",
        subject=withdrawal_id,
        outcome="voided",
        detail=f"refused after the money was frozen: {why} (R19)",
        at=now,
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


def _matching(session: Session, withdrawal_id: str, found: Transfer | None) -> PayoutLookup:
    """The provider's record, if it is this request's transfer: same key, amount, payee."""
    if found is None:
        return PayoutLookup()
    record = session.get(tables.Withdrawal, withdrawal_id)
    if record is None:
        return PayoutLookup(problem=f"no withdrawal {withdrawal_id} in the ledger")
    request = _request_of(record)
    expected = payee_digest(request.route, request.payee, request.order_id)
    if found.idempotency_key != withdrawal_id:
        problem = "the provider's record is for another key"
    elif found.amount != request.amount:
        problem = f"the provider's record is for {found.amount}, the withdrawal is {request.amount}"
    elif found.payee_digest != expected:
        problem = "the provider's record pays someone else than the withdrawal's payee"
    else:
        return PayoutLookup(transfer=found)
    return PayoutLookup(problem=problem)


def _describe(request: WithdrawalRequest) -> str:
    """A request for the audit trail: amount, kind, route, order, masked payee."""
    text = f"{request.amount} {request.kind.value} via {request.route.value}"
    if request.order_id:
        text += f" from order {request.order_id}"
    if request.payee is not None:
        text += f" to {request.payee.masked}"
    return text


def _note(note: str, reason: str | None) -> str:
    return f"{note} (reason: {reason})" if reason and reason != note else note


def _weigh(session: Session, record: tables.Withdrawal, check: ReviewerCheck) -> ReviewerVerdict:
    reviewer = session.get(tables.Reviewer, check.reviewer_id)
    account = session.get(tables.Account, record.account_id)
    conflicted = applicants(
        record.account_id, record.requested_by, account.master_account_id if account else None
    )
    approving = check.decision is ReviewDecisionKind.APPROVE
    role = reviewer.role if reviewer is not None else None
    problem = decision_problem(
        reviewer_id=check.reviewer_id,
        role=role,
        conflicted=conflicted,
        approving=approving,
        approved_by=check.approvals_so_far,
        same_person=_same_person(session, reviewer, conflicted),
    )
    if problem is not None:
        return ReviewerVerdict(allowed=False, why=problem, role=role)
    if not approving:
        return ReviewerVerdict(
            allowed=True, why=f"rejected by {role} {check.reviewer_id}", role=role
        )
    count = len(set(check.approvals_so_far)) + 1
    why = f"approval {count} of {check.approvals_required} by {role} {check.reviewer_id}"
    return ReviewerVerdict(allowed=True, why=why, role=role)


def _same_person(
    session: Session, reviewer: tables.Reviewer | None, conflicted: frozenset[str]
) -> bool:
    """R17: the reviewer's real-name identity is one of the applicant accounts'."""
    if reviewer is None or reviewer.identity_id is None:
        return False
    for account_id in conflicted:
        account = session.get(tables.Account, account_id)
        if account is not None and account.identity_id == reviewer.identity_id:
            return True
    return False


def _record_decision(
    session: Session, check: ReviewerCheck, verdict: ReviewerVerdict, at: datetime
) -> None:
    kind = check.decision.value
    session.add(
        tables.ReviewDecisionRecord(
            withdrawal_id=check.withdrawal_id,
            sequence=check.sequence,
            reviewer_id=check.reviewer_id,
            role=verdict.role,
            decision=kind,
            accepted=verdict.allowed,
            why=verdict.why,
            comment=check.comment,
            at=at,
        )
    )
    # An accepted rejection reaches the timeline through ``settle``; the rest here.
    if verdict.allowed and check.decision is ReviewDecisionKind.REJECT:
        note = ""
    elif verdict.allowed:
        note = f"{verdict.why}"
    else:
        note = f"{kind} by {check.reviewer_id} ignored: {verdict.why}"
    if note:
        withdrawals.set_withdrawal_status(
            session, check.withdrawal_id, Status.UNDER_REVIEW, at, note
        )
    detail = verdict.why + (f"; comment: {check.comment}" if check.comment else "")
    audit.append(
        session,
        actor=check.reviewer_id,
        action=f"review.{kind}",
        subject=check.withdrawal_id,
        outcome="accepted" if verdict.allowed else ("refused" if verdict.refused else "ignored"),
        detail=detail,
        at=at,
    )


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
