"""One durable workflow per withdrawal: verify, code, review, pay out, settle.

Whatever fails in between, the frozen money ends in exactly one place: paid out
(hold posted) or back in the balance (hold voided, R19). Every way out of ``run``
that froze money goes through ``_finish``, the only caller of the ``settle`` activity
(an open refused before anything was frozen is only recorded).

State lives in small dataclasses (``workflows/withdrawal_state.py``): ``Record`` (status,
reason, review-overdue and payout-unknown flags, timeline, published search attributes),
``CodeState``, ``ReviewState``, ``CancelState``, ``PayoutState``. ``_transition`` is the
only writer of ``Record`` and the only caller of the ``record_status`` local activity,
of ``upsert_search_attributes`` (through ``_publish``, and only when they change) and of
``set_current_details``: every status change and every timeline line goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    # cryptography's compiled bindings load once per process: passed through, never
    # re-imported by the sandbox (proof signatures are checked in workflow code)
    import cryptography.exceptions
    import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401

    from activities.withdrawal import WithdrawalActivities
    from gateways.payout import PAID_STATES, Transfer, TransferState
    from models import decision_proof
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
        MAX_CANCEL_REFUSALS,
        MAX_CODE_SENDS,
        MAX_DECISION_PROOF_CHARS,
        MAX_DECISIONS_VERIFIED,
        MAX_DECISIONS_WAITING,
        MAX_IGNORED_CALLBACK_NOTES,
        MAX_PAYOUT_CALLBACKS_TAKEN,
        MAX_PROOFS_AWAITING_KEYS,
        MAX_REFUSED_DECISIONS_RECORDED,
        MAX_REVIEW_COMMENT_CHARS,
        MAX_REVIEW_DECISIONS_RECORDED,
        MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON,
        PAYOUT_RETRY_INITIAL_SECONDS,
        PAYOUT_RETRY_MAX_INTERVAL_SECONDS,
        PAYOUT_RETRY_TOTAL_HOURS,
        PAYOUT_UNKNOWN_WATCH_FIRST_SECONDS,
        PAYOUT_UNKNOWN_WATCH_MAX_INTERVAL_SECONDS,
        PROVIDER_CALL_TIMEOUT_SECONDS,
        REVIEW_SLA_HOURS,
        SETTLEMENT_POLL_FIRST_SECONDS,
        SETTLEMENT_POLL_MAX_SECONDS,
        SETTLEMENT_WATCH_MAX_INTERVAL_SECONDS,
        SMS_SEND_TOTAL_SECONDS,
    )
    from models.messages import (
        CancelCheck,
        CancelRequest,
        CodeCheck,
        CodeRequest,
        CodeResult,
        CodeSubmission,
        CodeVerdict,
        Opened,
        PayoutCheck,
        PayoutLookup,
        PayoutOutcome,
        PayoutResolutionRequest,
        PayoutResolutionVerdict,
        PayoutWatch,
        RecordedDecision,
        ResendResult,
        ReviewDecision,
        ReviewDecisionKind,
        ReviewerCheck,
        ReviewKeys,
        Settlement,
        StatusChange,
    )
    from models.returns import RETURN_WORKFLOW_TYPE, ReturnNotice, return_workflow_id
    from workflows.search_attributes import (
        PAYOUT_UNKNOWN,
        REVIEW_OVERDUE,
        REVIEW_REQUIRED,
        WITHDRAWAL_STATUS,
    )
    from workflows.withdrawal_state import (
        CancelState,
        Change,
        CodeState,
        PayoutState,
        ProofKeys,
        ReceivedDecision,
        Record,
        RefusedDecision,
        ReviewState,
    )

# Patches (docs/changing-the-workflow.md): each id marks a change of the command
# sequence; runs started before it replay the old branch, kept below.
PATCH_PAYOUT_CONFIRMED = "payout-confirmed-by-lookup"  # bounded watch, unknown parked
PATCH_INVARIANT_RELEASES_HOLD = "review-invariant-broken-releases-hold"
# Runs started before PATCH_PAYOUT_CONFIRMED that reach "retries ran out" after the
# deploy park the payout too, instead of releasing money on one empty look-up.
PATCH_UNKNOWN_PARKED_IN_OLD_RUNS = "unknown-payout-parked-in-old-runs"
# The watch is no longer cancelled when a callback or a resolution arrives: it goes on
# polling and is reused by the next wait (or dropped when the run closes). A cancel could
# race the watch's own completion (both inside one workflow task) and name an activity the
# server had already closed: the task completion was refused (ACTIVITY_UNKNOWN).
PATCH_WATCH_NOT_CANCELLED = "payout-watch-not-cancelled"

# Behaviour added after histories were committed (``workflow.patched``; old runs replay
# the old branch). Review proofs: a decision is pre-checked in its signal handler and a
# refused one costs no activity past the first few; authorised cancel: a cancel runs the
# ``authorize_cancel`` activity before it counts.
PATCH_REVIEW_PROOFS = "review-decision-proofs"
PATCH_AUTHORISED_CANCEL = "authorised-cancel"
# Issue 22: every provider record passes the one check (``models.provider_record``).
# The submit is ``submit_payout_checked``, which answers a record that does not match (or
# a key conflict) at once instead of returning it unchecked; decided at the submit.
PATCH_SUBMIT_CHECKED = "payout-submit-checked"
# A record that does not match parks the payout (money held, the mismatch noted) and every
# later watch takes it as "not yet" on the parked schedule, instead of a new watch that
# answers at once again (a loop with no timer). Decided at the first such record, so a
# run past its submit at the deploy gets it too.
PATCH_MISMATCH_PARKED = "provider-mismatch-parked"
# Issue 25: a run that sees its transfer ``returned`` (paid, then sent back) posts the hold
# as paid (no patch: before returns existed no run could see that state) and then starts
# the return workflow itself, so the return follows even if its callback was lost.
PATCH_RETURN_FOLLOWS = "return-follows-a-returned-payout"
# Issue 22: no lock-out by refused input. The workflow checks a proof's signature itself
# (public keys loaded by the ``review_verify_keys`` local activity, ``ProofKeys``), so a
# forged decision is refused before it takes any of the room authorised ones need, and a
# cancel that is not authorised is refused by the update's validator (no history; the
# application layer audits it) instead of being counted. Decided at the first decision
# or cancel and kept in ``ProofKeys.decided``.
PATCH_PROOFS_VERIFIED_BY_WORKFLOW = "review-proofs-verified-by-workflow"
# A payout parked on a mismatch stays parked until the provider's matching record is
# final: its watch waits for a final record (on the parked schedule), so a record that
# flips between matching and not matching is never re-reported without a timer (it was:
# a matching ``processing`` unparked it, the next watch reported the mismatch at once,
# and so on). Decided at the first watch started, or record seen, while parked.
PATCH_PARKED_UNTIL_FINAL = "mismatch-parked-until-final-record"
# A cancel proof is spent once: its nonce is seen when the cancel is taken, so the
# validator refuses a replay (no history); a signed cancel the activity refuses counts
# towards ``MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON``, past which the validator refuses
# that person's cancels. Decided at the first cancel the workflow verifies itself.
PATCH_SIGNED_CANCELS_CAPPED = "cancel-proof-spent-once-refusals-capped"
MAX_IDENTIFIER_CHARS = 64
MAX_RECORDED_COMMENT_CHARS = 200

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
# The settlement wait: ``watch_payout``'s retries are the polls (no events per poll).
SETTLEMENT_WATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=SETTLEMENT_POLL_FIRST_SECONDS),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=SETTLEMENT_WATCH_MAX_INTERVAL_SECONDS),
    maximum_attempts=0,
)
PAYOUT_UNKNOWN_WATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=PAYOUT_UNKNOWN_WATCH_FIRST_SECONDS),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=PAYOUT_UNKNOWN_WATCH_MAX_INTERVAL_SECONDS),
    maximum_attempts=0,
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
        self._opened: Opened | None = None  # what ``open_withdrawal`` decided
        self._record = Record(
            status=Status.VERIFYING,
            timeline=[
                TimelineEntry(
                    at=workflow.now(), status=Status.VERIFYING, note="withdrawal requested"
                )
            ],
        )
        self._code = CodeState()
        self._review = ReviewState()
        self._cancel = CancelState()
        self._payout = PayoutState()
        self._keys = ProofKeys()

    # ---- the process -----------------------------------------------------------------
    @workflow.run
    async def run(self, request: WithdrawalRequest) -> WithdrawalStatusDoc:
        self._payout.confirmed = workflow.patched(PATCH_PAYOUT_CONFIRMED)
        try:
            self._opened = await self._open()
        except WithdrawalEnded as refused:
            # Nothing was frozen: the refusal is only recorded.
            await self._transition(
                Change.to_status(Status.FAILED, refused.note, reason=refused.reason)
            )
            return self._document()
        try:
            await self._verify_code()
            if self._opened.review_reasons:
                await self._await_review()
            await self._check_authorised()
            await self._transition(
                Change.to_status(Status.APPROVED_AWAITING_PAYOUT, "approved, paying out")
            )
            if self._payout.confirmed:
                transfer = await self._pay_out_confirmed()
            else:
                transfer = await self._pay_out()
                transfer = await self._await_settlement(transfer)
            # Returned means paid, then sent back: the hold is posted, never voided, and
            # the return credits the money back (issue 25).
            if transfer.state not in PAID_STATES:
                raise WithdrawalEnded(Status.FAILED, transfer.reason or "payout failed")
            resolution = self._payout.resolution  # ops' word on an unknown outcome, if any
            await self._finish(
                Status.SUCCEEDED,
                "money sent" if resolution is None else resolution.why,
                reason=None,
                reference=transfer.provider_reference,
                actor=",".join(resolution.reviewers) if resolution else None,
            )
            if transfer.state is TransferState.RETURNED and workflow.patched(PATCH_RETURN_FOLLOWS):
                await self._start_return()
        except WithdrawalEnded as end:
            await self._finish(end.status, end.note, reason=end.reason, actor=end.actor)  # R19
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._document()

    async def _start_return(self) -> None:
        """The return workflow, left running when this run closes; one already started
        (by the returned callback) is the same return, taken as done."""
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                RETURN_WORKFLOW_TYPE,
                ReturnNotice(withdrawal_id=self._request.withdrawal_id, source="withdrawal"),
                id=return_workflow_id(self._request.withdrawal_id),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary="the provider returned this payout",
            )

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
        await self._transition(Change("verification code sent", status=Status.AWAITING_CODE))
        while not self._code.verified:
            if self._cancel.requested is not None:
                raise self._cancellation()
            if self._code.attempts_left <= 0:
                raise WithdrawalEnded(Status.CANCELLED, "R15: too many wrong verification codes")
            assert self._code.expires_at is not None
            remaining = self._code.expires_at - workflow.now()
            if remaining <= timedelta(0):
                raise WithdrawalEnded(Status.CANCELLED, "R15: the verification code expired")
            expires_at = self._code.expires_at
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._code.verified
                        or self._code.attempts_left <= 0
                        or self._cancel.requested is not None
                        or self._code.expires_at != expires_at  # noqa: B023 - read now
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
        self._code.sends += 1
        self._code.sent_at = sent.sent_at
        self._code.expires_at = sent.expires_at

    async def _await_review(self) -> None:
        """R17: wait for an authorised reviewer; flag the withdrawal past the SLA."""
        note = "; ".join(self._review_reasons())
        await self._transition(Change.to_status(Status.UNDER_REVIEW, note))
        deadline = workflow.now() + timedelta(hours=REVIEW_SLA_HOURS)
        while self._review.outcome is None:
            if self._cancel.requested is not None:
                raise self._cancellation()
            if self._review.refusals_pending:
                await self._record_refusal(*self._review.refusals_pending.pop(0))
                continue
            if self._review.inbox:
                await self._consider(*self._review.inbox.pop(0))
                continue
            timeout = None if self._record.review_overdue else deadline - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: (
                        bool(self._review.inbox)
                        or bool(self._review.refusals_pending)
                        or self._cancel.requested is not None
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                await self._transition(
                    Change(
                        f"review SLA of {REVIEW_SLA_HOURS} hours passed",
                        review_overdue=True,
                        record="mark review overdue",
                    )
                )
        await self._note_unrecorded_refusals()
        outcome = self._review.outcome
        if outcome.decision is ReviewDecisionKind.REJECT:
            raise WithdrawalEnded(
                Status.REJECTED,
                outcome.comment or "rejected",
                f"rejected by {outcome.reviewer_id}",
                actor=outcome.reviewer_id,
            )
        await self._transition(Change(f"approved by {', '.join(self._review.approvers)}"))

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
                sequence=self._review.weighed,
                approvals_so_far=list(self._review.approvers),
                approvals_required=self._approvals_required(),
                proof=decision.proof,
                applicants=sorted(self._applicants()),
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary=f"verify, weigh and record {kind.value}",
        )
        self._review.weighed += 1
        recorded = RecordedDecision(
            decision=kind,
            reviewer_id=decision.reviewer_id,
            comment=decision.comment,
            at=at,
            accepted=verdict.allowed,
            why=verdict.why,
            role=verdict.role,
            nonce=_nonce_of(decision.proof),
            person=verdict.person,
        )
        if len(self._review.decisions) < MAX_REVIEW_DECISIONS_RECORDED:
            self._review.decisions.append(recorded)
        if not verdict.allowed:
            await self._transition(
                Change(f"{kind.value} by {decision.reviewer_id} ignored: {verdict.why}")
            )
            return
        if kind is ReviewDecisionKind.REJECT:
            self._review.outcome = recorded  # any authorised rejection ends it
            return
        if decision.reviewer_id not in self._review.approvers:
            self._review.approvers.append(decision.reviewer_id)
            if verdict.person is not None:
                self._review.approver_people.append(verdict.person)
        enough = len(self._review.approvers) >= self._approvals_required()
        # one approval short: the details show the approvals so far
        await self._transition(Change(verdict.why, publish=not enough))
        if enough:
            self._review.outcome = recorded

    async def _record_refusal(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime, why: str
    ) -> None:
        """Record a decision the signal handler refused: the ledger's decisions and audit
        trail say who tried what. Only the first few are recorded (``_refuse``)."""
        await workflow.execute_activity_method(
            WithdrawalActivities.review_decision,
            ReviewerCheck(
                withdrawal_id=self._request.withdrawal_id,
                reviewer_id=decision.reviewer_id,
                decision=kind,
                comment=decision.comment,
                at=at,
                sequence=self._review.weighed,
                refused=why,
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary=f"record refused {kind.value}",
        )
        self._review.weighed += 1
        await self._transition(Change(f"{kind.value} by {decision.reviewer_id} refused: {why}"))
        if len(self._review.decisions) < MAX_REVIEW_DECISIONS_RECORDED:
            self._review.decisions.append(
                RecordedDecision(
                    decision=kind,
                    reviewer_id=decision.reviewer_id,
                    comment=decision.comment,
                    at=at,
                    accepted=False,
                    why=why,
                    nonce=_nonce_of(decision.proof),
                )
            )

    async def _note_unrecorded_refusals(self) -> None:
        """One line for every refused decision past the recorded few."""
        unrecorded = self._review.refused - (
            self._review.refusals_queued - len(self._review.refusals_pending)
        )
        if unrecorded <= 0:
            return
        await self._transition(
            Change(
                f"{unrecorded} more decisions without a valid proof refused (counted only)",
                record="count refused decisions",
            )
        )

    def _applicants(self) -> set[str]:
        """``models.authority.applicants`` as recorded at open; runs opened before it was
        recorded fall back to what their request names."""
        if self._opened is not None and self._opened.applicants:
            return set(self._opened.applicants)
        return {i for i in (self._request.account_id, self._request.actor) if i}

    def _approvals_required(self) -> int:
        return self._opened.approvals_required if self._opened else 1

    async def _check_authorised(self) -> None:
        """Invariant before money moves: a reviewed withdrawal has enough different
        approvers. A broken invariant stops the run loudly; since the patch it first
        releases the money (R19): nothing was paid, and a failed run resolves nothing."""
        if not self._review_reasons():
            return
        approvers = set(self._review.approvers)
        applicants = self._applicants()
        # People, not ids (issue 22), where the activity named every approver's person.
        people = self._review.approver_people
        counted = len(set(people)) if len(people) == len(approvers) else len(approvers)
        if counted < self._approvals_required() or approvers & applicants:
            problem = (
                f"payout with approvals {self._review.approvers} of {self._approvals_required()} "
                "required, applicant excluded"
            )
            if workflow.patched(PATCH_INVARIANT_RELEASES_HOLD):
                await self._finish(
                    Status.FAILED,
                    "stopped: review invariant broken; money released (R19)",
                    reason=f"review invariant broken: {problem}",
                )
            raise ApplicationError(problem, type="ReviewInvariantBroken", non_retryable=True)

    async def _pay_out(self) -> Transfer:
        """Send the transfer; the activity looks the key up before (re)submitting."""
        if self._cancel.requested is not None:
            raise self._cancellation()
        self._payout.sent = True  # from here on the money may be moving: no cancel
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
                if workflow.patched(PATCH_UNKNOWN_PARKED_IN_OLD_RUNS):
                    self._payout.submitted = True
                    looked = await self._confirm_payout(None)
                    if looked.transfer is None:
                        await self._set_payout_unknown(
                            True,
                            looked.problem
                            or "payout outcome unknown: the provider knows no transfer; "
                            "money stays held",
                        )
                    return await self._await_outcome(looked.transfer)
                found = await self._check_payout()
                if found is None:
                    raise WithdrawalEnded(
                        Status.FAILED, "payout provider unreachable; nothing was sent"
                    ) from error
                return found
            raise WithdrawalEnded(Status.FAILED, reason) from error
        self._accept_transfer(transfer)  # a callback may have brought the final word first
        await self._transition(Change("payout accepted by the provider", publish=True))
        assert self._payout.transfer is not None
        return self._payout.transfer

    async def _pay_out_confirmed(self) -> Transfer:
        """Since PATCH_PAYOUT_CONFIRMED: submit, then wait for the provider's own record.

        Nothing final is taken from a callback: each one only prompts a look-up, and
        the look-up must match key, amount and payee. When the submit's retries run out
        and the provider knows no transfer, the outcome is unknown: the money stays held
        (``payout_unknown``) until the provider answers or ops resolve it."""
        if self._cancel.requested is not None:
            raise self._cancellation()
        self._payout.sent = True  # from here on the money may be moving: no cancel
        transfer: Transfer | None
        looked: PayoutLookup | None = None
        try:
            if workflow.patched(PATCH_SUBMIT_CHECKED):
                looked = await workflow.execute_activity_method(
                    WithdrawalActivities.submit_payout_checked,
                    self._request,
                    start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
                    schedule_to_close_timeout=timedelta(hours=PAYOUT_RETRY_TOTAL_HOURS),
                    retry_policy=PAYOUT_RETRY,
                    summary="submit payout, its record checked (key = withdrawal id)",
                )
                transfer = looked.transfer
            else:
                transfer = await workflow.execute_activity_method(
                    WithdrawalActivities.submit_payout,
                    self._request,
                    start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
                    schedule_to_close_timeout=timedelta(hours=PAYOUT_RETRY_TOTAL_HOURS),
                    retry_policy=PAYOUT_RETRY,
                    summary="submit payout (idempotency key = withdrawal id)",
                )
            self._payout.submitted = True
        except ActivityError as error:
            reason = _business_failure(error)
            if reason is not None:  # refused for good: nothing was sent
                raise WithdrawalEnded(Status.FAILED, reason) from error
            self._payout.submitted = True  # an attempt may have reached the provider
            looked = await self._confirm_payout(None)
            transfer = looked.transfer
            if transfer is None:
                await self._set_payout_unknown(
                    True,
                    looked.problem
                    or f"payout outcome unknown: no answer for {PAYOUT_RETRY_TOTAL_HOURS} "
                    "hours and the provider knows no transfer; money stays held",
                )
                if looked.problem is not None and workflow.patched(PATCH_MISMATCH_PARKED):
                    self._payout.mismatch = looked.problem  # parked: watched quietly
        else:
            if looked is not None and looked.problem is not None:
                await self._park_mismatch(looked.problem)
            else:
                await self._transition(Change("payout accepted by the provider", publish=True))
        return await self._await_outcome(transfer)

    async def _await_outcome(self, transfer: Transfer | None) -> Transfer:
        """Until the provider's record is final (or ops resolved an unknown outcome)."""
        assert self._opened is not None
        flagged_late = workflow.now() > self._opened.arrival_latest
        watch: asyncio.Future[PayoutLookup] | None = None  # kept running across waits
        while True:
            resolved = self._resolved_transfer()
            if resolved is not None:
                self._payout.transfer = resolved
                return resolved
            if transfer is not None:
                self._payout.transfer = transfer  # what the status document shows
            if transfer is not None and transfer.state is not TransferState.PROCESSING:
                return transfer
            if watch is None:
                watch = workflow.start_activity_method(
                    WithdrawalActivities.watch_payout,
                    PayoutWatch(
                        withdrawal_id=self._request.withdrawal_id,
                        until_final=bool(transfer) or self._parked_until_final(),
                        report_mismatch=self._payout.mismatch is None,
                    ),
                    start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
                    retry_policy=SETTLEMENT_WATCH_RETRY if transfer else PAYOUT_UNKNOWN_WATCH_RETRY,
                    summary="watch payout at the provider (retries are the polls)",
                )
            flagged_late = await self._wait_for_news(watch, flagged_late)
            if not watch.done() and workflow.patched(PATCH_WATCH_NOT_CANCELLED):
                looked = None  # news came first: the watch goes on, never cancelled
            else:
                looked = await self._finish_watch(watch)
                watch = None
            if looked is None and self._payout.callback_hint is not None:
                hint, self._payout.callback_hint = self._payout.callback_hint, None
                looked = await self._confirm_payout(hint)
                if looked.transfer is None or looked.transfer.state is not hint.state:
                    await self._note_ignored_callback(hint, looked)
            if looked is None:
                continue  # ops resolved it: the loop's first line ends it
            if looked.problem is not None:
                if workflow.patched(PATCH_MISMATCH_PARKED):
                    await self._park_mismatch(looked.problem)
                elif not self._record.payout_unknown:
                    await self._set_payout_unknown(True, looked.problem)
                transfer = None
            elif (
                looked.transfer is not None
                and looked.transfer.state is TransferState.PROCESSING
                and self._parked_until_final()
            ):
                transfer = None  # matching, not final: a flip could mismatch again
            elif looked.transfer is not None:
                self._payout.mismatch = None  # the record matches now
                if self._record.payout_unknown:
                    await self._set_payout_unknown(False, "the provider knows the transfer")
                transfer = looked.transfer

    def _parked_until_final(self) -> bool:
        """Parked on a mismatch, since PATCH_PARKED_UNTIL_FINAL: only a final matching
        record unparks it (decided the first time it is asked while parked)."""
        if self._payout.mismatch is None:
            return False
        if self._payout.until_final is None:
            self._payout.until_final = workflow.patched(PATCH_PARKED_UNTIL_FINAL)
        return self._payout.until_final

    async def _wait_for_news(self, watch: asyncio.Future[PayoutLookup], flagged_late: bool) -> bool:
        assert self._opened is not None
        while not (
            watch.done() or self._payout.callback_hint is not None or self._resolution_final()
        ):
            timeout = None if flagged_late else self._opened.arrival_latest - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: (
                        watch.done()
                        or self._payout.callback_hint is not None
                        or self._resolution_final()
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                flagged_late = True
                await self._transition(
                    Change(
                        f"expected arrival ({self._opened.arrival_text}) has passed",
                        publish=True,
                    )
                )
        return flagged_late

    async def _finish_watch(self, watch: asyncio.Future[PayoutLookup]) -> PayoutLookup | None:
        """The watch's answer, or None once it was cancelled for a callback or a resolution."""
        if not watch.done():
            watch.cancel()
        try:
            return await watch
        except (ActivityError, asyncio.CancelledError):
            return None

    def _resolution_final(self) -> bool:
        return self._payout.resolution is not None and self._payout.resolution.final

    def _resolved_transfer(self) -> Transfer | None:
        verdict = self._payout.resolution
        if verdict is None or not verdict.final:
            return None
        if verdict.outcome is PayoutOutcome.NOT_PAID:
            raise WithdrawalEnded(
                Status.FAILED,
                "payout not made, as confirmed by ops (R19: money released)",
                verdict.why,
                actor=",".join(verdict.reviewers),
            )
        return Transfer(
            idempotency_key=self._request.withdrawal_id,
            state=TransferState.SUCCEEDED,
            amount=self._request.amount,
            provider_reference=verdict.reference,
        )

    async def _confirm_payout(self, callback: Transfer | None) -> PayoutLookup:
        result: PayoutLookup = await workflow.execute_activity_method(
            WithdrawalActivities.confirm_payout,
            PayoutCheck(withdrawal_id=self._request.withdrawal_id, callback=callback),
            start_to_close_timeout=timedelta(seconds=PROVIDER_CALL_TIMEOUT_SECONDS),
            retry_policy=PAYOUT_RETRY,
            summary="look the payout up at the provider (key, amount, payee must match)",
        )
        return result

    async def _park_mismatch(self, problem: str) -> None:
        """A provider record that does not match is never acted on: the payout is parked
        (money held, ``attention`` lists it) with the mismatch in the timeline and the
        ledger, once per distinct problem, and from here on watched quietly on the parked
        schedule (``report_mismatch=False``): it is "not yet" until the record matches
        or ops resolve it."""
        if problem == self._payout.mismatch and self._record.payout_unknown:
            return
        self._payout.mismatch = problem
        await self._transition(
            Change(problem, payout_unknown=True, record="payout parked: record does not match")
        )

    async def _set_payout_unknown(self, unknown: bool, note: str) -> None:
        """Park the payout for ops (money held), or unpark it: the provider answered."""
        summary = "payout outcome unknown" if unknown else "payout outcome known"
        await self._transition(Change(note, payout_unknown=unknown, record=summary))

    async def _note_ignored_callback(self, callback: Transfer, looked: PayoutLookup) -> None:
        self._payout.callbacks_ignored += 1
        if self._payout.callbacks_ignored <= MAX_IGNORED_CALLBACK_NOTES:
            seen = looked.problem or (
                f"the provider says {looked.transfer.state.value}"
                if looked.transfer
                else "the provider knows no transfer"
            )
            await self._transition(
                Change(f"payout callback ({callback.state.value}) ignored: {seen}")
            )

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
                        self._payout.transfer is not None
                        and self._payout.transfer.state is not TransferState.PROCESSING
                    ),
                    timeout=poll,
                )
            except TimeoutError:
                found = await self._check_payout()
                if found is not None:
                    self._accept_transfer(found)
            assert self._payout.transfer is not None
            transfer = self._payout.transfer
            poll = min(poll * 2, timedelta(seconds=SETTLEMENT_POLL_MAX_SECONDS))
            if not flagged_late and workflow.now() > watch_until:
                flagged_late = True
                await self._transition(
                    Change(
                        f"expected arrival ({self._opened.arrival_text}) has passed",
                        publish=True,
                    )
                )
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
        # a final status is the answer: no longer parked
        await self._transition(Change(note, status=status, reason=reason, payout_unknown=False))

    # ---- messages --------------------------------------------------------------------
    @workflow.update
    async def submit_code(self, submission: CodeSubmission) -> CodeResult:
        # The SMS can reach a quick user before the send activity's completion reaches
        # the workflow: wait for it rather than refuse a right code.
        await workflow.wait_condition(lambda: self._record.status is not Status.VERIFYING)
        if self._record.status is not Status.AWAITING_CODE and not self._code.verified:
            raise ApplicationError(
                f"no code is awaited: the withdrawal is {self._record.status.value}",
                type="NoCodeAwaited",
            )
        async with self._code.lock:
            if self._record.status is not Status.AWAITING_CODE or self._code.verified:
                # A second update racing the first: answer without another attempt.
                return self._code_result(
                    CodeVerdict.VERIFIED if self._code.verified else CodeVerdict.WRONG
                )
            assert self._code.expires_at is not None
            if workflow.now() >= self._code.expires_at:
                return self._code_result(CodeVerdict.EXPIRED)
            self._code.checks += 1
            ok = await workflow.execute_local_activity_method(
                WithdrawalActivities.check_code,
                CodeCheck(
                    withdrawal_id=self._request.withdrawal_id,
                    code=submission.code,
                    at=workflow.now(),
                    attempt=self._code.checks,
                ),
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary="check verification code hash",
            )
            if ok:
                self._code.verified = True
                await self._transition(
                    Change("verification code accepted", phase=Status.AWAITING_CODE)
                )
                return self._code_result(CodeVerdict.VERIFIED)
            self._code.attempts_left -= 1
            await self._transition(
                Change(
                    f"wrong verification code, {self._code.attempts_left} attempts left",
                    phase=Status.AWAITING_CODE,
                )
            )
            return self._code_result(CodeVerdict.WRONG)

    @submit_code.validator
    def _validate_submit_code(self, submission: CodeSubmission) -> None:
        problem = submission.problem()
        if problem is not None:
            raise ValueError(problem)
        code_phase = self._record.status in (Status.VERIFYING, Status.AWAITING_CODE)
        if not code_phase or self._code.verified:
            raise ValueError(f"no code is awaited: the withdrawal is {self._record.status.value}")
        if self._code.attempts_left <= 0:
            raise ValueError("R15: no attempts left")

    @workflow.update
    async def resend_code(self) -> ResendResult:
        async with self._code.lock:
            try:
                await self._send_code()
            except ActivityError as error:  # the old code stays valid
                raise ApplicationError(
                    "R15: the new code could not be sent; the previous one still works",
                    type="CodeNotSent",
                ) from error
            await self._transition(Change("verification code re-sent", phase=Status.AWAITING_CODE))
            assert self._code.sent_at is not None and self._code.expires_at is not None
            return ResendResult(sent_at=self._code.sent_at, expires_at=self._code.expires_at)

    @resend_code.validator
    def _validate_resend_code(self) -> None:
        if self._record.status is not Status.AWAITING_CODE or self._code.verified:
            raise ValueError(f"no code is awaited: the withdrawal is {self._record.status.value}")
        if self._code.sends >= MAX_CODE_SENDS:
            raise ValueError(f"R15: at most {MAX_CODE_SENDS} codes per withdrawal")
        if self._code.sent_at is not None:
            wait = self._code.sent_at + timedelta(seconds=CODE_RESEND_COOLDOWN_SECONDS)
            if workflow.now() < wait:
                seconds = int((wait - workflow.now()).total_seconds()) + 1
                raise ValueError(f"R15: a new code can be sent in {seconds} seconds")

    @workflow.update
    async def cancel(self, request: CancelRequest) -> WithdrawalStatusDoc:
        if workflow.patched(PATCH_AUTHORISED_CANCEL):
            request = await self._authorise_cancel(request)
        self._cancel.requested = request
        await workflow.wait_condition(lambda: self._record.status.is_final)
        return self._document()

    async def _authorise_cancel(self, request: CancelRequest) -> CancelRequest:
        """R2/R18: who may cancel is decided (and audited) by the ``authorize_cancel``
        activity, so every face (CLI, HTTP API) gets the same answer. Since
        PATCH_PROOFS_VERIFIED_BY_WORKFLOW only a cancel the validator found authorised
        gets here (a reviewer's proof naming a key not loaded yet is checked first), and
        a refusal no longer counts towards ``MAX_CANCEL_REFUSALS``."""
        verified_here = self._verifies_proofs()
        capped = verified_here and self._caps_signed_cancels()
        self._cancel.checking = True  # one cancel at a time, from the validator on
        try:
            if verified_here:
                await self._check_cancel_proof(request)
            nonce = _nonce_of(request.proof) if capped else None
            if nonce is not None:
                self._review.nonces_seen.add(nonce)  # spent: a replay is refused
            await workflow.wait_condition(
                lambda: self._opened is not None or self._record.status.is_final
            )
            verdict = await workflow.execute_activity_method(
                WithdrawalActivities.authorize_cancel,
                CancelCheck(
                    withdrawal_id=self._request.withdrawal_id,
                    request=request,
                    at=workflow.now(),
                    applicants=sorted(self._applicants()),
                ),
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary="authorise and audit cancel (R2)",
            )
        finally:
            self._cancel.checking = False
        if not verdict.allowed:
            if not verified_here:
                self._cancel.refusals += 1
            elif capped and request.reviewer_id is not None:
                self._cancel.signed_refused(
                    request.reviewer_id[:MAX_IDENTIFIER_CHARS], verdict.person
                )
            raise ApplicationError(verdict.why, type="CancelNotAuthorised")
        if self._record.status.is_final or self._payout.sent:
            raise ApplicationError(
                "R18: the payout has been sent; it can no longer be cancelled",
                type="CancelTooLate",
            )
        return CancelRequest(by=verdict.actor)

    def _caps_signed_cancels(self) -> bool:
        if self._cancel.caps_signed is None:
            self._cancel.caps_signed = workflow.patched(PATCH_SIGNED_CANCELS_CAPPED)
        return self._cancel.caps_signed

    async def _check_cancel_proof(self, request: CancelRequest) -> None:
        """A reviewer's cancel whose proof names a key this run has not loaded: the
        validator let it through only while a load is due, so this costs one load."""
        if request.proof is None or request.reviewer_id is None:
            return
        proof = decision_proof.parse(request.proof)  # the validator parsed it already
        if not self._keys.knows(proof.kid):
            await self._load_keys()
        problem = decision_proof.signature_problem(proof, self._keys.listed())
        if problem is not None:
            raise ApplicationError(
                f"R18: cancel by {request.reviewer_id} refused: {problem}",
                type="CancelProofRefused",  # audited by the caller: no activity ran
            )

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._record.status.is_final:
            raise ValueError(f"the withdrawal is already {self._record.status.value}")
        if self._payout.sent:
            raise ValueError("the payout has been sent; it can no longer be cancelled")
        if self._cancel.requested is not None or self._cancel.checking:
            raise ValueError("a cancellation is already under way")
        if self._cancel.refusals >= MAX_CANCEL_REFUSALS:
            raise ValueError(f"R2: {MAX_CANCEL_REFUSALS} cancel attempts were refused already")
        # ``decided`` is None until the first decision or cancel: the handler, running
        # live, will take the new path. False: a run that took the old path before.
        if self._keys.decided is not False:
            problem = self._cancel_problem(request)
            if problem is not None:
                raise ValueError(problem)

    def _cancel_problem(self, request: CancelRequest) -> str | None:
        """Why this cancel is not authorised, decided without I/O (issue 22): by an
        account that is not an applicant (R2), or a reviewer's proof that does not fit
        or whose signature fails. The role is the ``authorize_cancel`` activity's to
        check (it holds the reviewers): only a validly signed proof gets that far."""
        if request.reviewer_id is None and request.proof is None:
            by = (request.by or self._request.actor)[:MAX_IDENTIFIER_CHARS]
            if by in self._applicants():
                return None
            if self._opened is None:  # the master account is known once opened
                return "the withdrawal is still being opened; try again in a moment"
            return (
                f"R2: {by} is neither the applicant nor its master account; "
                "only they, or an ops or lead reviewer, may cancel"
            )
        reviewer_id = (request.reviewer_id or "unknown")[:MAX_IDENTIFIER_CHARS]
        problem = self._proof_problem(
            request.proof, reviewer_id, decision_proof.CANCEL, "", workflow.now()
        )
        if (
            problem is None
            and self._cancel.caps_signed is not False
            and self._cancel.signed_refusals_used_up(reviewer_id)
        ):
            problem = f"{MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON} cancels by this person refused"
        if problem is None:
            assert request.proof is not None
            proof = decision_proof.parse(request.proof)
            if self._keys.knows(proof.kid):
                problem = decision_proof.signature_problem(proof, self._keys.listed())
            else:
                wait = self._keys.wait_before_load(workflow.now()).total_seconds()
                if wait > 0:
                    problem = (
                        "the proof names a review key this withdrawal has not loaded yet; "
                        f"try again in {int(wait) + 1} seconds"
                    )
        if problem is None:
            return None
        return f"R18: cancel by {reviewer_id} refused: {problem}"

    @workflow.signal
    async def approve(self, decision: ReviewDecision) -> None:
        await self._receive_decision(ReviewDecisionKind.APPROVE, decision)

    @workflow.signal
    async def reject(self, decision: ReviewDecision) -> None:
        await self._receive_decision(ReviewDecisionKind.REJECT, decision)

    async def _receive_decision(self, kind: ReviewDecisionKind, decision: ReviewDecision) -> None:
        """Anyone with namespace access can send this signal: a decision without a proof
        that fits is refused here, costing no activity past the first few recorded.

        A coroutine since PATCH_PROOFS_VERIFIED_BY_WORKFLOW (it may wait for the review
        keys); the SDK runs every signal handler as its own task, so older runs, which
        never wait, replay as they ran."""
        at = workflow.now()
        if self._review.checks_proofs is None:
            self._review.checks_proofs = workflow.patched(PATCH_REVIEW_PROOFS)
        if not self._review.checks_proofs:
            self._review.inbox.append(ReceivedDecision(kind, decision, at))
            return
        if self._verifies_proofs():
            await self._receive_signed(kind, decision, at)
            return
        problem = self._decision_problem(kind, decision, at)
        if problem is not None:
            self._refuse(kind, decision, at, problem)
            return
        self._take(kind, decision, at)

    async def _receive_signed(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime
    ) -> None:
        """Since PATCH_PROOFS_VERIFIED_BY_WORKFLOW: the signature is checked here, before
        the decision takes any room (queue, verified count, nonce), so forged proofs
        naming real reviewers never use up what authorised ones need (issue 22)."""
        problem = self._proof_problem(
            decision.proof, decision.reviewer_id, kind.value, decision.comment, at
        )
        if problem is None:
            assert decision.proof is not None
            proof = decision_proof.parse(decision.proof)
            if not self._keys.knows(proof.kid):
                await self._await_keys()
            problem = decision_proof.signature_problem(proof, self._keys.listed())
        problem = problem or self._room_problem(decision.proof)
        if problem is not None:
            self._refuse(kind, decision, at, problem)
            return
        self._take(kind, decision, at)

    def _take(self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime) -> None:
        """A decision whose proof fits: its nonce is seen, it waits for the activity."""
        nonce = _nonce_of(decision.proof)
        assert nonce is not None
        self._review.nonces_seen.add(nonce)
        self._review.proofs_accepted += 1
        self._review.inbox.append(ReceivedDecision(kind, decision, at))

    def _verifies_proofs(self) -> bool:
        if self._keys.decided is None:
            self._keys.decided = workflow.patched(PATCH_PROOFS_VERIFIED_BY_WORKFLOW)
        return self._keys.decided

    async def _await_keys(self) -> None:
        """Until the review keys were loaded after this proof arrived (or the withdrawal
        ended). A load is due at once the first time, then after the refresh interval or
        once ``MAX_PROOFS_AWAITING_KEYS`` proofs wait: forged key ids cost a bounded
        number of loads, and a proof with a real key waits rather than being refused."""
        keys = self._keys
        asked = keys.loads
        keys.waiting += 1
        try:
            while keys.loads == asked and not self._record.status.is_final:
                if keys.loading:
                    await workflow.wait_condition(lambda: not keys.loading)
                    continue
                wait = keys.wait_before_load(workflow.now())
                if wait <= timedelta(0) or keys.waiting >= MAX_PROOFS_AWAITING_KEYS:
                    await self._load_keys()
                    continue
                await self._await_load_due(asked, wait)
        finally:
            keys.waiting -= 1

    async def _await_load_due(self, asked: int, wait: timedelta) -> None:
        """One waiter holds a timer until the load is due; the others wait on it, so
        waiting proofs cost no history of their own."""
        keys = self._keys

        def moved() -> bool:
            return (
                keys.loads != asked
                or keys.loading
                or keys.waiting >= MAX_PROOFS_AWAITING_KEYS
                or self._record.status.is_final
            )

        if keys.timing:
            await workflow.wait_condition(lambda: moved() or not keys.timing)
            return
        keys.timing = True
        try:
            await workflow.wait_condition(moved, timeout=wait)
        except TimeoutError:
            pass  # the load is due: the caller's loop runs it
        finally:
            keys.timing = False

    async def _load_keys(self) -> None:
        self._keys.loading = True
        try:
            listed: ReviewKeys = await workflow.execute_local_activity_method(
                WithdrawalActivities.review_verify_keys,
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary="load the reviewers' public keys (REVIEW_VERIFY_KEY)",
            )
        finally:
            self._keys.loading = False
        self._keys.took(listed.keys, workflow.now())

    def _decision_problem(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime
    ) -> str | None:
        """What is wrong with a decision that needs no key to see: the signature itself
        is checked by the ``review_decision`` activity (the worker holds the key). Runs
        before PATCH_PROOFS_VERIFIED_BY_WORKFLOW."""
        problem = self._proof_problem(
            decision.proof, decision.reviewer_id, kind.value, decision.comment, at
        )
        return problem or self._room_problem(decision.proof)

    def _proof_problem(
        self, token: str | None, reviewer_id: str, decision: str, comment: str, at: datetime
    ) -> str | None:
        """What is wrong with a proof that needs no key to see (signature not checked)."""
        if token is None:
            return "no proof of an authenticated reviewer"
        if len(reviewer_id) > MAX_IDENTIFIER_CHARS or len(comment) > MAX_REVIEW_COMMENT_CHARS:
            return "reviewer id or comment too long"
        try:
            claims = decision_proof.parse_claims(token)
        except decision_proof.ProofError as error:
            return str(error)
        problem = decision_proof.claims_problem(
            claims,
            withdrawal_id=self._request.withdrawal_id,
            reviewer_id=reviewer_id,
            decision=decision,
            comment=comment,
            received_at=at,
        )
        if problem is not None:
            return problem
        if claims.nonce in self._review.nonces_seen:
            return "proof already used"
        return None

    def _room_problem(self, token: str | None) -> str | None:
        """A signed decision the queue or the verified count has no room for."""
        if _nonce_of(token) in self._review.nonces_seen:
            return "proof already used"  # the same proof, received twice meanwhile
        if len(self._review.inbox) >= MAX_DECISIONS_WAITING:
            return f"{MAX_DECISIONS_WAITING} decisions already waiting"
        if self._review.proofs_accepted >= MAX_DECISIONS_VERIFIED:
            return f"{MAX_DECISIONS_VERIFIED} signed decisions already weighed"
        return None

    def _refuse(
        self, kind: ReviewDecisionKind, decision: ReviewDecision, at: datetime, why: str
    ) -> None:
        self._review.refused += 1
        if self._review.refusals_queued >= MAX_REFUSED_DECISIONS_RECORDED:
            return  # counted, and summed up in one line when the review ends
        self._review.refusals_queued += 1
        proof = decision.proof
        bounded = ReviewDecision(
            reviewer_id=decision.reviewer_id[:MAX_IDENTIFIER_CHARS],
            comment=decision.comment[:MAX_RECORDED_COMMENT_CHARS],
            proof=proof if proof is not None and len(proof) <= MAX_DECISION_PROOF_CHARS else None,
        )
        self._review.refusals_pending.append(RefusedDecision(kind, bounded, at, why))

    @workflow.signal
    async def payout_update(self, transfer: Transfer) -> None:
        """The provider's callback. Before PATCH_PAYOUT_CONFIRMED it was taken as the
        final word; since, it is only a hint that prompts a look-up at the provider, and
        is ignored (counted, a few noted) before the payout was submitted, when it says
        nothing final, or beyond ``MAX_PAYOUT_CALLBACKS_TAKEN``.

        A coroutine only to note through ``_transition``: a note without a record never
        suspends, and the SDK runs every signal handler, plain or async, as its own task,
        so the handler still completes at once, as it did when it was a plain function."""
        if transfer.idempotency_key != self._request.withdrawal_id:
            workflow.logger.warning("payout callback for another withdrawal ignored")
            return
        if self._payout.confirmed is False:
            self._accept_transfer(transfer)
            return
        if (
            not self._payout.submitted
            or transfer.state is TransferState.PROCESSING
            or self._payout.callbacks_taken >= MAX_PAYOUT_CALLBACKS_TAKEN
            or self._record.status.is_final
        ):
            why = "before the payout was submitted" if not self._payout.submitted else "no news"
            self._payout.callbacks_ignored += 1
            if self._payout.callbacks_ignored <= MAX_IGNORED_CALLBACK_NOTES:
                await self._transition(
                    Change(f"payout callback ({transfer.state.value}) ignored: {why}")
                )
            return
        self._payout.callbacks_taken += 1
        self._payout.callback_hint = transfer

    @workflow.update
    async def resolve_payout(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        """Ops end a payout whose outcome is unknown (authenticated by the caller; the
        activity checks the role, records the evidence, and counts two different
        reviewers before money is released)."""
        verdict: PayoutResolutionVerdict = await workflow.execute_activity_method(
            WithdrawalActivities.resolve_payout,
            request,
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary=f"record payout resolution ({request.outcome.value})",
        )
        if verdict.accepted and (
            self._payout.resolution is None or not self._payout.resolution.final
        ):
            await self._transition(Change(verdict.why, phase=Status.APPROVED_AWAITING_PAYOUT))
            if verdict.final:
                self._payout.resolution = verdict
        return verdict

    @resolve_payout.validator
    def _validate_resolve_payout(self, request: PayoutResolutionRequest) -> None:
        problem = request.problem()
        if problem is not None:
            raise ValueError(problem)
        if request.withdrawal_id != self._request.withdrawal_id:
            raise ValueError("withdrawal_id: this is another withdrawal")
        if not self._record.payout_unknown or self._record.status.is_final:
            raise ValueError(
                f"the withdrawal is {self._record.status.value} and its payout outcome is not "
                "unknown; there is nothing to resolve"
            )

    @workflow.query
    def status(self) -> WithdrawalStatusDoc:
        return self._document()

    @workflow.query
    def decisions(self) -> list[RecordedDecision]:
        return list(self._review.decisions)

    # ---- helpers ---------------------------------------------------------------------
    def _accept_transfer(self, transfer: Transfer) -> None:
        if (
            self._payout.transfer is not None
            and self._payout.transfer.state is not TransferState.PROCESSING
        ):
            return
        self._payout.transfer = transfer

    def _cancellation(self) -> WithdrawalEnded:
        assert self._cancel.requested is not None
        by = self._cancel.requested.by or self._request.actor
        return WithdrawalEnded(
            Status.CANCELLED, "cancelled by the user", f"cancelled by {by}", actor=by
        )

    def _review_reasons(self) -> list[str]:
        return self._opened.review_reasons if self._opened else []

    def _code_result(self, verdict: CodeVerdict) -> CodeResult:
        return CodeResult(
            verdict=verdict, attempts_left=self._code.attempts_left, status=self._record.status
        )

    async def _transition(self, change: Change) -> None:
        """The one writer of ``self._record`` (status, reason, flags, timeline) and of
        what follows from it: the ``record_status`` local activity when asked, the search
        attributes and the Web UI details.

        The order is part of the command sequence that saved histories replay, and of
        what handlers waiting on the status see: fields first; then the timeline line,
        which for a final status comes only once the ledger recorded it; then the record;
        then the upsert. Only ``run``'s own steps pass a status, so a record is always
        made under the status ``run`` is in. A change without ``record`` never suspends.
        """
        record = self._record
        if change.status is not None:
            record.status = change.status
        if change.reason is not None:
            record.reason = change.reason
        if change.review_overdue is not None:
            record.review_overdue = change.review_overdue
        if change.payout_unknown is not None:
            record.payout_unknown = change.payout_unknown
        # Nothing awaited below changes it: only ``run`` passes a status or a record.
        status = record.status

        def note() -> None:
            entry = TimelineEntry(
                at=workflow.now(), status=change.phase or status, note=change.note
            )
            record.timeline.append(entry)

        if not status.is_final:
            note()
        if change.record is not None:
            await workflow.execute_local_activity_method(
                WithdrawalActivities.record_status,
                StatusChange(
                    withdrawal_id=self._request.withdrawal_id,
                    status=status,
                    note=change.note,
                    reason=change.reason,
                    review_overdue=change.review_overdue,
                    payout_unknown=change.payout_unknown,
                ),
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary=change.record,
            )
        if status.is_final:
            note()  # a final status is noted once recorded (settled or refused at open)
        flags = (change.status, change.review_overdue, change.payout_unknown)
        if change.publish or any(flag is not None for flag in flags):
            self._publish()

    def _publish(self) -> None:
        """Search attributes and current details for ops in the Web UI (``_transition``)."""
        record = self._record
        review_required = bool(self._review_reasons())
        published = (record.status, review_required, record.review_overdue, record.payout_unknown)
        if published != record.published:  # an unchanged upsert is one more event for nothing
            updates: list[SearchAttributeUpdate[Any]] = [
                WITHDRAWAL_STATUS.value_set(record.status.value),
                REVIEW_REQUIRED.value_set(review_required),
                REVIEW_OVERDUE.value_set(record.review_overdue),
            ]
            # runs that never parked a payout upsert as they did before the flag existed
            if record.payout_unknown or record.published[3]:
                updates.append(PAYOUT_UNKNOWN.value_set(record.payout_unknown))
            record.published = published
            workflow.upsert_search_attributes(updates)
        details = [
            f"**{record.status.value}** {STATUS_LABELS_ZH[record.status]}",
            f"amount {self._request.amount} · route {self._request.route.value}",
        ]
        if review_required and record.status is Status.UNDER_REVIEW:
            details.append(
                f"approvals {len(self._review.approvers)} of {self._approvals_required()}"
            )
        if record.review_overdue:
            details.append("review overdue")
        if record.payout_unknown:
            details.append("payout outcome unknown: money held until resolved")
        if record.reason:
            details.append(f"reason: {record.reason}")
        workflow.set_current_details("\n\n".join(details))

    def _document(self) -> WithdrawalStatusDoc:
        request = self._request
        return WithdrawalStatusDoc(
            id=request.withdrawal_id,
            account_id=request.account_id,
            status=self._record.status,
            status_zh=STATUS_LABELS_ZH[self._record.status],
            amount=request.amount,
            route=request.route,
            kind=request.kind,
            order_id=request.order_id,
            reason=self._record.reason,
            payee=request.payee.masked if request.payee else None,
            review_required=bool(self._review_reasons()),
            review_overdue=self._record.review_overdue,
            code_attempts_left=self._code.attempts_left,
            expected_arrival=self._opened.arrival_latest if self._opened else None,
            provider_reference=self._payout.transfer.provider_reference
            if self._payout.transfer
            else None,
            approvals=list(self._review.approvers),
            approvals_required=self._approvals_required(),
            payout_unknown=self._record.payout_unknown,
            payout_callbacks_ignored=self._payout.callbacks_ignored,
            timeline=list(self._record.timeline),
        )


def _nonce_of(proof: str | None) -> str | None:
    if proof is None:
        return None
    try:
        return decision_proof.parse_claims(proof).nonce
    except decision_proof.ProofError:
        return None


def _business_failure(error: ActivityError) -> str | None:
    """The user-facing reason of a non-retryable business failure, else None."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    return None
