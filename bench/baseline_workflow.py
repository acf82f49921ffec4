"""Temporal's own ceiling for the auto path's shape: the same steps, activities that do nothing.

The shape is read off a real auto-path history (``bench.run`` keeps both histories' event
types in its JSON, so a drift shows): five activities (``open_withdrawal``, ``send_code``,
``check_code`` inside the ``submit_code`` update, ``submit_payout``, ``settle``), of which
``check_code`` runs as an activity as in the real workflow since ``no-local-activities``
(since ``status-written-with-its-step`` it writes the approval too: no ``record_status``), one
code-expiry timer cancelled by the right code, and three search-attribute upserts (the
real workflow upserts only on change). Payloads are the
real input types, through the same data converter (pydantic, encrypted); the worker
(``bench.baseline_worker``) has the same tuning as ``worker.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.baseline_activities import (
        CodeCourier,
        check_code,
        open_withdrawal,
        review_decision,
        review_verify_keys,
        settle,
        submit_payout,
    )
    from models.domain import Status, WithdrawalRequest
    from models.limits import (
        CODE_TTL_SECONDS,
        DATABASE_ACTIVITY_TIMEOUT_SECONDS,
        REVIEW_SLA_HOURS,
    )
    from models.messages import (
        CodeResult,
        CodeSubmission,
        CodeVerdict,
        ReviewDecision,
        ReviewDecisionKind,
        ReviewerCheck,
    )
    from workflows.search_attributes import WITHDRAWAL_STATUS

ACTIVITY_TIMEOUT = timedelta(seconds=DATABASE_ACTIVITY_TIMEOUT_SECONDS)


@workflow.defn(name="BaselineWithdrawal")
class BaselineWorkflow:
    @workflow.init
    def __init__(self, request: WithdrawalRequest) -> None:
        self._request = request
        self._status = Status.VERIFYING
        self._verified = False

    @workflow.run
    async def run(self, request: WithdrawalRequest) -> Status:
        await self._open_and_verify(request)
        return await self._pay_out()

    async def _open_and_verify(self, request: WithdrawalRequest) -> None:
        # The real workflow decides its payout patch first: a marker and the SDK's
        # TemporalChangeVersion upsert, two events the baseline must carry too.
        workflow.patched("payout-confirmed-by-lookup")
        await self._step(open_withdrawal)
        await workflow.execute_activity_method(
            CodeCourier.send_code, request, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        self._publish(Status.AWAITING_CODE)
        await workflow.wait_condition(
            lambda: self._verified, timeout=timedelta(seconds=CODE_TTL_SECONDS)
        )

    async def _pay_out(self) -> Status:
        # "approved, paying out" was written by the code check (or the deciding approval)
        self._publish(Status.APPROVED_AWAITING_PAYOUT)
        # The real workflow decides its checked-submit patch here (issue 22): a marker and
        # a TemporalChangeVersion upsert again.
        workflow.patched("payout-submit-checked")
        await self._step(submit_payout)
        await self._step(settle)
        self._publish(Status.SUCCEEDED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    @workflow.update
    async def submit_code(self, submission: CodeSubmission) -> CodeResult:
        await workflow.wait_condition(lambda: self._status is not Status.VERIFYING)
        # The real check decides status-written-with-its-step first (a marker and the
        # SDK's TemporalChangeVersion upsert), then writes the next status with the check.
        workflow.patched("status-written-with-its-step")
        # ... then whether the check is an activity, and one that answers whether it wrote
        # the status (a marker and an upsert each)
        workflow.patched("no-local-activities")
        workflow.patched("code-check-answered")
        await self._check_code(submission)
        self._verified = True
        return CodeResult(verdict=CodeVerdict.VERIFIED, attempts_left=0, status=self._status)

    async def _check_code(self, submission: CodeSubmission) -> None:
        await workflow.execute_activity(
            check_code, submission, start_to_close_timeout=ACTIVITY_TIMEOUT
        )

    async def _step(self, step: Callable[[WithdrawalRequest], Awaitable[None]]) -> None:
        await workflow.execute_activity(
            step, self._request, start_to_close_timeout=ACTIVITY_TIMEOUT
        )

    def _publish(self, status: Status) -> None:
        self._status = status
        workflow.upsert_search_attributes([WITHDRAWAL_STATUS.value_set(status.value)])


@workflow.defn(name="BaselineReviewWithdrawal")
class BaselineReviewWorkflow(BaselineWorkflow):
    """The review path's shape (issue 24): the auto path's, with the code check writing
    ``under_review`` (``check_code_under_review``, an activity, as in the real workflow
    since ``status-written-with-its-step`` and ``no-local-activities``), plus the SLA
    timer the review waits under, the approve signal, the ``review_decision`` activity
    that weighs it (and writes the approval), and the approval's timeline line (no
    activity, as in the real one)."""

    @workflow.init
    def __init__(self, request: WithdrawalRequest) -> None:
        super().__init__(request)
        self._decision: ReviewDecision | None = None

    @workflow.run
    async def run(self, request: WithdrawalRequest) -> Status:
        await self._open_and_verify(request)
        self._publish(Status.UNDER_REVIEW)
        # The real review loop decides this patch at its first SLA wait (a marker and the
        # SDK's TemporalChangeVersion upsert).
        workflow.patched("review-wait-settles-before-timer")
        # The real workflow flags a review past its SLA and waits on; the bench never does.
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(
                lambda: self._decision is not None, timeout=timedelta(hours=REVIEW_SLA_HOURS)
            )
        assert self._decision is not None
        await workflow.execute_activity(
            review_decision,
            ReviewerCheck(
                withdrawal_id=request.withdrawal_id,
                reviewer_id=self._decision.reviewer_id,
                decision=ReviewDecisionKind.APPROVE,
                comment=self._decision.comment,
                at=workflow.now(),
                proof=self._decision.proof,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        # The real run decides carried-status-acknowledged at the deciding approval's
        # answer (a marker and the SDK's TemporalChangeVersion upsert).
        workflow.patched("carried-status-acknowledged")
        return await self._pay_out()

    async def _check_code(self, submission: CodeSubmission) -> None:
        await workflow.execute_activity_method(
            CodeCourier.check_code_under_review,
            self._request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )

    @workflow.signal
    async def approve(self, decision: ReviewDecision) -> None:
        # The real handler decides its proofs patches on the first decision (a marker and
        # the SDK's TemporalChangeVersion upsert each), and since issue 22 loads the
        # reviewers' keys before it verifies the proof.
        workflow.patched("review-decision-proofs")
        workflow.patched("review-proofs-verified-by-workflow")
        # since "review-keys-loaded-by-activity" the load is an activity
        workflow.patched("review-keys-loaded-by-activity")
        await workflow.execute_activity(review_verify_keys, start_to_close_timeout=ACTIVITY_TIMEOUT)
        self._decision = decision
