"""The withdrawal workflow byte for byte as deployed before issue 13's patches (commit
9456d57), so a test can start runs on it and hand them to today's worker mid-flight.

One durable workflow per withdrawal: verify, code, review, pay out, settle.

Whatever fails in between, the frozen money ends in exactly one place: paid out
(hold posted) or back in the balance (hold voided, R19). Every way out of ``run``
goes through ``_finish``, which is the only caller of the ``settle`` activity.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from gateways.payout import Transfer, TransferState
    from models.domain import (
        STATUS_LABELS_ZH,
        Status,
        TimelineEntry,
        WithdrawalRequest,
        WithdrawalStatusDoc,
    )
    from models.limits import (
        CODE_RESEND_COOLDOWN_SECONDS,
        CODE_TTL_SECONDS,
        DATABASE_ACTIVITY_TIMEOUT_SECONDS,
        MAX_CODE_ATTEMPTS,
        MAX_CODE_SENDS,
        MAX_REVIEW_DECISIONS_RECORDED,
        PAYOUT_RETRY_INITIAL_SECONDS,
        PAYOUT_RETRY_MAX_INTERVAL_SECONDS,
        PAYOUT_RETRY_TOTAL_HOURS,
        PROVIDER_CALL_TIMEOUT_SECONDS,
        REVIEW_SLA_HOURS,
        SETTLEMENT_POLL_FIRST_SECONDS,
        SETTLEMENT_POLL_MAX_SECONDS,
        SMS_SEND_TOTAL_SECONDS,
    )
    from models.messages import (
        CancelRequest,
        CodeCheck,
        CodeRequest,
        CodeResult,
        CodeSubmission,
        CodeVerdict,
        Opened,
        RecordedDecision,
        ResendResult,
        ReviewDecision,
        ReviewDecisionKind,
        ReviewerCheck,
        Settlement,
        StatusChange,
    )
    from workflows.search_attributes import REVIEW_OVERDUE, REVIEW_REQUIRED, WITHDRAWAL_STATUS

DATABASE_TIMEOUT = timedelta(seconds=DATABASE_ACTIVITY_TIMEOUT_SECONDS)
# Database activities retry until they succeed: their only failures are transient
# (locks, restarts); business refusals are non-retryable ApplicationErrors.
DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
PAYOUT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=PAYOUT_RETRY_INITIAL_SECONDS),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=PAYOUT_RETRY_MAX_INTERVAL_SECONDS),
    maximum_attempts=0,  # bounded by schedule_to_close (total time), not by a count
    non_retryable_error_types=["TransferRejected"],
)


class WithdrawalEnded(Exception):
    """Control flow: the withdrawal ends here with ``status`` (never paid out)."""

    def __init__(
        self, status: Status, reason: str, note: str = "", actor: str | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.note = note or reason
        self.actor = actor  # who ended it, for the audit trail; None: the system


@workflow.defn
class WithdrawalWorkflow:
    @workflow.init
    def __init__(self, request: WithdrawalRequest) -> None:
        self._request = request
        self._status = Status.VERIFYING
        self._reason: str | None = None
        self._timeline: list[TimelineEntry] = [
            TimelineEntry(at=workflow.now(), status=Status.VERIFYING, note="withdrawal requested")
        ]
        self._opened: Opened | None = None
        # R15 code state
        self._code_attempts_left = MAX_CODE_ATTEMPTS
        self._code_verified = False
        self._code_sent_at: datetime | None = None
        self._code_expires_at: datetime | None = None
        self._code_sends = 0
        self._code_checks = 0  # every check, right or wrong: the ledger's attempt key
        self._code_lock = asyncio.Lock()
        # R17 review state
        self._decision_inbox: list[tuple[ReviewDecisionKind, ReviewDecision, datetime]] = []
        self._decisions: list[RecordedDecision] = []
        self._decisions_weighed = 0  # including those beyond MAX_REVIEW_DECISIONS_RECORDED
        self._approvers: list[str] = []  # accepted approvals, each reviewer once (four-eyes)
        self._review_outcome: RecordedDecision | None = None
        self._review_overdue = False
        # cancel and payout state
        self._cancel_requested: CancelRequest | None = None
        self._payout_sent = False
        self._transfer: Transfer | None = None
        # what the search attributes say now; the client set these at start
        self._published: tuple[Status, bool, bool] = (Status.VERIFYING, False, False)

    # ---- the process -----------------------------------------------------------------
    @workflow.run
    async def run(self, request: WithdrawalRequest) -> WithdrawalStatusDoc:
        try:
            self._opened = await self._open()
        except WithdrawalEnded as refused:
            # Nothing was frozen: the refusal is only recorded.
            await self._record(Status.FAILED, refused.note, reason=refused.reason)
            return self._document()
        try:
            await self._verify_code()
            if self._opened.review_reasons:
                await self._await_review()
            self._check_authorised()
            await self._set_status(Status.APPROVED_AWAITING_PAYOUT, "approved, paying out")
            transfer = await self._pay_out()
            transfer = await self._await_settlement(transfer)
            if transfer.state is not TransferState.SUCCEEDED:
                raise WithdrawalEnded(Status.FAILED, transfer.reason or "payout failed")
            await self._finish(
                Status.SUCCEEDED, "money sent", reason=None, reference=transfer.provider_reference
            )
        except WithdrawalEnded as end:
            await self._finish(end.status, end.note, reason=end.reason, actor=end.actor)  # R19
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._document()

    async def _open(self) -> Opened:
        try:
            return await workflow.execute_activity_method(
                WithdrawalActivities.open_withdrawal,
                self._request,
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary="record, check eligibility (R1 R2 R8 R9 R14), freeze funds",
            )
        except ActivityError as error:
            refusal = _business_failure(error)
            if refusal is None:
                raise
            raise WithdrawalEnded(Status.FAILED, refusal) from error

    async def _verify_code(self) -> None:
        """R15: wait for the right code; too many wrong codes or expiry cancel."""
        try:
            await self._send_code()
        except ActivityError as error:
            # No code, no withdrawal: the money goes back (R19) rather than stay frozen.
            raise WithdrawalEnded(
                Status.FAILED, "R15: the verification code could not be sent; try again later"
            ) from error
        self._status = Status.AWAITING_CODE
        self._add_timeline(Status.AWAITING_CODE, "verification code sent")
        self._publish()
        while not self._code_verified:
            if self._cancel_requested is not None:
                raise self._cancellation()
            if self._code_attempts_left <= 0:
                raise WithdrawalEnded(Status.CANCELLED, "R15: too many wrong verification codes")
            assert self._code_expires_at is not None
            remaining = self._code_expires_at - workflow.now()
            if remaining <= timedelta(0):
                raise WithdrawalEnded(Status.CANCELLED, "R15: the verification code expired")
            expires_at = self._code_expires_at
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._code_verified
                        or self._code_attempts_left <= 0
                        or self._cancel_requested is not None
                        or self._code_expires_at != expires_at  # noqa: B023 - read now
                    ),
                    timeout=remaining,
                )
            except TimeoutError:
                continue  # the loop re-reads the expiry, which a resend may have moved

    async def _send_code(self) -> None:
        now = workflow.now()
        sent = await workflow.execute_activity_method(
            WithdrawalActivities.send_code,
            CodeRequest(
                request=self._request,
                sent_at=now,
                expires_at=now + timedelta(seconds=CODE_TTL_SECONDS),
            ),
            start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
            schedule_to_close_timeout=timedelta(seconds=SMS_SEND_TOTAL_SECONDS),
            retry_policy=RetryPolicy(maximum_attempts=0),  # bounded by total time
            summary="send SMS verification code (R15)",
        )
        self._code_sends += 1
        self._code_sent_at = sent.sent_at
        self._code_expires_at = sent.expires_at

    async def _await_review(self) -> None:
        """R17: wait for an authorised reviewer; flag the withdrawal past the SLA."""
        await self._set_status(Status.UNDER_REVIEW, "; ".join(self._review_reasons()))
        deadline = workflow.now() + timedelta(hours=REVIEW_SLA_HOURS)
        while self._review_outcome is None:
            if self._cancel_requested is not None:
                raise self._cancellation()
            if self._decision_inbox:
                await self._consider(*self._decision_inbox.pop(0))
                continue
            timeout = None if self._review_overdue else deadline - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: bool(self._decision_inbox) or self._cancel_requested is not None,
                    timeout=timeout,
                )
            except TimeoutError:
                await self._mark_review_overdue()
        outcome = self._review_outcome
        if outcome.decision is ReviewDecisionKind.REJECT:
            raise WithdrawalEnded(
                Status.REJECTED,
                outcome.comment or "rejected",
                f"rejected by {outcome.reviewer_id}",
                actor=outcome.reviewer_id,
            )
        self._add_timeline(Status.UNDER_REVIEW, f"approved by {', '.join(self._approvers)}")

    async def _consider(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime
    ) -> None:
        """Weigh one decision; the activity records it (decision row, timeline, audit)."""
        verdict = await workflow.execute_activity_method(
            WithdrawalActivities.review_decision,
            ReviewerCheck(
                withdrawal_id=self._request.withdrawal_id,
                reviewer_id=decision.reviewer_id,
                decision=kind,
                comment=decision.comment,
                at=at,
                sequence=self._decisions_weighed,
                approvals_so_far=list(self._approvers),
                approvals_required=self._approvals_required(),
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary=f"weigh and record {kind.value}",
        )
        self._decisions_weighed += 1
        recorded = RecordedDecision(
            decision=kind,
            reviewer_id=decision.reviewer_id,
            comment=decision.comment,
            at=at,
            accepted=verdict.allowed,
            why=verdict.why,
            role=verdict.role,
        )
        if len(self._decisions) < MAX_REVIEW_DECISIONS_RECORDED:
            self._decisions.append(recorded)
        if not verdict.allowed:
            note = f"{kind.value} by {decision.reviewer_id} ignored: {verdict.why}"
            self._add_timeline(Status.UNDER_REVIEW, note)
            return
        if kind is ReviewDecisionKind.REJECT:
            self._review_outcome = recorded  # any authorised rejection ends it
            return
        if decision.reviewer_id not in self._approvers:
            self._approvers.append(decision.reviewer_id)
        self._add_timeline(Status.UNDER_REVIEW, verdict.why)
        if len(self._approvers) >= self._approvals_required():
            self._review_outcome = recorded
        else:
            self._publish()

    def _approvals_required(self) -> int:
        return self._opened.approvals_required if self._opened else 1

    def _check_authorised(self) -> None:
        """Invariant before money moves: a reviewed withdrawal has enough different
        approvers. A broken invariant stops the run loudly, the money still held."""
        if not self._review_reasons():
            return
        approvers = set(self._approvers)
        applicants = {self._request.account_id, self._request.actor}
        if len(approvers) < self._approvals_required() or approvers & applicants:
            raise ApplicationError(
                f"payout with approvals {self._approvers} of {self._approvals_required()} "
                "required, applicant excluded",
                type="ReviewInvariantBroken",
                non_retryable=True,
            )

    async def _mark_review_overdue(self) -> None:
        self._review_overdue = True
        note = f"review SLA of {REVIEW_SLA_HOURS} hours passed"
        self._add_timeline(Status.UNDER_REVIEW, note)
        await workflow.execute_local_activity_method(
            WithdrawalActivities.record_status,
            StatusChange(
                withdrawal_id=self._request.withdrawal_id,
                status=Status.UNDER_REVIEW,
                note=note,
                review_overdue=True,
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary="mark review overdue",
        )
        self._publish()

    async def _pay_out(self) -> Transfer:
        """Send the transfer; the activity looks the key up before (re)submitting."""
        if self._cancel_requested is not None:
            raise self._cancellation()
        self._payout_sent = True  # from here on the money may be moving: no cancel
        try:
            transfer = await workflow.execute_activity_method(
                WithdrawalActivities.submit_payout,
                self._request,
                start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
                schedule_to_close_timeout=timedelta(hours=PAYOUT_RETRY_TOTAL_HOURS),
                retry_policy=PAYOUT_RETRY,
                summary="submit payout (idempotency key = withdrawal id)",
            )
        except ActivityError as error:
            reason = _business_failure(error)
            if reason is None:
                # Retries ran out of total time: the outcome is unknown, so look it
                # up once more rather than assume nothing was sent.
                found = await self._check_payout()
                if found is None:
                    raise WithdrawalEnded(
                        Status.FAILED, "payout provider unreachable; nothing was sent"
                    ) from error
                return found
            raise WithdrawalEnded(Status.FAILED, reason) from error
        self._accept_transfer(transfer)  # a callback may have brought the final word first
        self._add_timeline(Status.APPROVED_AWAITING_PAYOUT, "payout accepted by the provider")
        self._publish()
        assert self._transfer is not None
        return self._transfer

    async def _await_settlement(self, transfer: Transfer) -> Transfer:
        """Wait for the provider's final word: callback signal or polling."""
        poll = timedelta(seconds=SETTLEMENT_POLL_FIRST_SECONDS)
        assert self._opened is not None
        watch_until = self._opened.arrival_latest
        flagged_late = False
        while transfer.state is TransferState.PROCESSING:
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._transfer is not None
                        and self._transfer.state is not TransferState.PROCESSING
                    ),
                    timeout=poll,
                )
            except TimeoutError:
                found = await self._check_payout()
                if found is not None:
                    self._accept_transfer(found)
            assert self._transfer is not None
            transfer = self._transfer
            poll = min(poll * 2, timedelta(seconds=SETTLEMENT_POLL_MAX_SECONDS))
            if not flagged_late and workflow.now() > watch_until:
                flagged_late = True
                self._add_timeline(
                    Status.APPROVED_AWAITING_PAYOUT,
                    f"expected arrival ({self._opened.arrival_text}) has passed",
                )
                self._publish()
        return transfer

    async def _check_payout(self) -> Transfer | None:
        result: Transfer | None = await workflow.execute_activity_method(
            WithdrawalActivities.check_payout,
            self._request.withdrawal_id,
            start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
            retry_policy=PAYOUT_RETRY,
            summary="look up payout at the provider",
        )
        return result

    async def _finish(
        self,
        status: Status,
        note: str,
        *,
        reason: str | None,
        reference: str | None = None,
        actor: str | None = None,
    ) -> None:
        """The single place the hold is resolved: post on success, void otherwise."""
        await workflow.execute_activity_method(
            WithdrawalActivities.settle,
            Settlement(
                withdrawal_id=self._request.withdrawal_id,
                status=status,
                note=note,
                reason=reason,
                provider_reference=reference,
                actor=actor,
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary="post hold" if status is Status.SUCCEEDED else "release hold (R19)",
        )
        self._status = status
        self._reason = reason
        self._add_timeline(status, note)
        self._publish()

    # ---- messages --------------------------------------------------------------------
    @workflow.update
    async def submit_code(self, submission: CodeSubmission) -> CodeResult:
        # The SMS can reach a quick user before the send activity's completion reaches
        # the workflow: wait for it rather than refuse a right code.
        await workflow.wait_condition(lambda: self._status is not Status.VERIFYING)
        if self._status is not Status.AWAITING_CODE and not self._code_verified:
            raise ApplicationError(
                f"no code is awaited: the withdrawal is {self._status.value}",
                type="NoCodeAwaited",
            )
        async with self._code_lock:
            if self._status is not Status.AWAITING_CODE or self._code_verified:
                # A second update racing the first: answer without another attempt.
                return self._code_result(
                    CodeVerdict.VERIFIED if self._code_verified else CodeVerdict.WRONG
                )
            assert self._code_expires_at is not None
            if workflow.now() >= self._code_expires_at:
                return self._code_result(CodeVerdict.EXPIRED)
            self._code_checks += 1
            ok = await workflow.execute_local_activity_method(
                WithdrawalActivities.check_code,
                CodeCheck(
                    withdrawal_id=self._request.withdrawal_id,
                    code=submission.code,
                    at=workflow.now(),
                    attempt=self._code_checks,
                ),
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary="check verification code hash",
            )
            if ok:
                self._code_verified = True
                self._add_timeline(Status.AWAITING_CODE, "verification code accepted")
                return self._code_result(CodeVerdict.VERIFIED)
            self._code_attempts_left -= 1
            self._add_timeline(
                Status.AWAITING_CODE,
                f"wrong verification code, {self._code_attempts_left} attempts left",
            )
            return self._code_result(CodeVerdict.WRONG)

    @submit_code.validator
    def _validate_submit_code(self, submission: CodeSubmission) -> None:
        problem = submission.problem()
        if problem is not None:
            raise ValueError(problem)
        code_phase = self._status in (Status.VERIFYING, Status.AWAITING_CODE)
        if not code_phase or self._code_verified:
            raise ValueError(f"no code is awaited: the withdrawal is {self._status.value}")
        if self._code_attempts_left <= 0:
            raise ValueError("R15: no attempts left")

    @workflow.update
    async def resend_code(self) -> ResendResult:
        async with self._code_lock:
            try:
                await self._send_code()
            except ActivityError as error:  # the old code stays valid
                raise ApplicationError(
                    "R15: the new code could not be sent; the previous one still works",
                    type="CodeNotSent",
                ) from error
            self._add_timeline(Status.AWAITING_CODE, "verification code re-sent")
            assert self._code_sent_at is not None and self._code_expires_at is not None
            return ResendResult(sent_at=self._code_sent_at, expires_at=self._code_expires_at)

    @resend_code.validator
    def _validate_resend_code(self) -> None:
        if self._status is not Status.AWAITING_CODE or self._code_verified:
            raise ValueError(f"no code is awaited: the withdrawal is {self._status.value}")
        if self._code_sends >= MAX_CODE_SENDS:
            raise ValueError(f"R15: at most {MAX_CODE_SENDS} codes per withdrawal")
        if self._code_sent_at is not None:
            wait = self._code_sent_at + timedelta(seconds=CODE_RESEND_COOLDOWN_SECONDS)
            if workflow.now() < wait:
                seconds = int((wait - workflow.now()).total_seconds()) + 1
                raise ValueError(f"R15: a new code can be sent in {seconds} seconds")

    @workflow.update
    async def cancel(self, request: CancelRequest) -> WithdrawalStatusDoc:
        self._cancel_requested = request
        await workflow.wait_condition(lambda: self._status.is_final)
        return self._document()

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._status.is_final:
            raise ValueError(f"the withdrawal is already {self._status.value}")
        if self._payout_sent:
            raise ValueError("the payout has been sent; it can no longer be cancelled")
        if self._cancel_requested is not None:
            raise ValueError("a cancellation is already under way")

    @workflow.signal
    def approve(self, decision: ReviewDecision) -> None:
        self._decision_inbox.append((ReviewDecisionKind.APPROVE, decision, workflow.now()))

    @workflow.signal
    def reject(self, decision: ReviewDecision) -> None:
        self._decision_inbox.append((ReviewDecisionKind.REJECT, decision, workflow.now()))

    @workflow.signal
    def payout_update(self, transfer: Transfer) -> None:
        """The provider's callback. Duplicates and stale 'processing' after a final
        state are ignored: a final state never changes."""
        if transfer.idempotency_key != self._request.withdrawal_id:
            workflow.logger.warning("payout callback for another withdrawal ignored")
            return
        self._accept_transfer(transfer)

    @workflow.query
    def status(self) -> WithdrawalStatusDoc:
        return self._document()

    @workflow.query
    def decisions(self) -> list[RecordedDecision]:
        return list(self._decisions)

    # ---- helpers ---------------------------------------------------------------------
    def _accept_transfer(self, transfer: Transfer) -> None:
        if self._transfer is not None and self._transfer.state is not TransferState.PROCESSING:
            return
        self._transfer = transfer

    def _cancellation(self) -> WithdrawalEnded:
        assert self._cancel_requested is not None
        by = self._cancel_requested.by or self._request.actor
        return WithdrawalEnded(
            Status.CANCELLED, "cancelled by the user", f"cancelled by {by}", actor=by
        )

    def _review_reasons(self) -> list[str]:
        return self._opened.review_reasons if self._opened else []

    def _code_result(self, verdict: CodeVerdict) -> CodeResult:
        return CodeResult(
            verdict=verdict, attempts_left=self._code_attempts_left, status=self._status
        )

    async def _set_status(self, status: Status, note: str) -> None:
        self._status = status
        self._add_timeline(status, note)
        await self._record(status, note)
        self._publish()

    async def _record(self, status: Status, note: str, reason: str | None = None) -> None:
        self._status = status
        self._reason = reason if reason is not None else self._reason
        await workflow.execute_local_activity_method(
            WithdrawalActivities.record_status,
            StatusChange(
                withdrawal_id=self._request.withdrawal_id, status=status, note=note, reason=reason
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary=f"record status {status.value}",
        )
        if status.is_final:
            self._add_timeline(status, note)
            self._publish()

    def _add_timeline(self, status: Status, note: str) -> None:
        self._timeline.append(TimelineEntry(at=workflow.now(), status=status, note=note))

    def _publish(self) -> None:
        """Search attributes and current details for ops in the Web UI."""
        published = (self._status, bool(self._review_reasons()), self._review_overdue)
        if published != self._published:  # an unchanged upsert is one more event for nothing
            self._published = published
            workflow.upsert_search_attributes(
                [
                    WITHDRAWAL_STATUS.value_set(self._status.value),
                    REVIEW_REQUIRED.value_set(bool(self._review_reasons())),
                    REVIEW_OVERDUE.value_set(self._review_overdue),
                ]
            )
        details = [
            f"**{self._status.value}** {STATUS_LABELS_ZH[self._status]}",
            f"amount {self._request.amount} · route {self._request.route.value}",
        ]
        if self._review_reasons() and self._status is Status.UNDER_REVIEW:
            details.append(f"approvals {len(self._approvers)} of {self._approvals_required()}")
        if self._review_overdue:
            details.append("review overdue")
        if self._reason:
            details.append(f"reason: {self._reason}")
        workflow.set_current_details("\n\n".join(details))

    def _document(self) -> WithdrawalStatusDoc:
        request = self._request
        return WithdrawalStatusDoc(
            id=request.withdrawal_id,
            account_id=request.account_id,
            status=self._status,
            status_zh=STATUS_LABELS_ZH[self._status],
            amount=request.amount,
            route=request.route,
            kind=request.kind,
            order_id=request.order_id,
            reason=self._reason,
            payee=request.payee.masked if request.payee else None,
            review_required=bool(self._review_reasons()),
            review_overdue=self._review_overdue,
            code_attempts_left=self._code_attempts_left,
            expected_arrival=self._opened.arrival_latest if self._opened else None,
            provider_reference=self._transfer.provider_reference if self._transfer else None,
            approvals=list(self._approvers),
            approvals_required=self._approvals_required(),
            timeline=list(self._timeline),
        )


def _business_failure(error: ActivityError) -> str | None:
    """The user-facing reason of a non-retryable business failure, else None."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    return None
