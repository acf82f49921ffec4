"""One durable workflow per withdrawal: verify, code, review, pay out, settle.

Whatever fails in between, the frozen money ends in exactly one place: paid out
(hold posted) or back in the balance (hold voided, R19). Every way out of ``run``
that froze money goes through ``StatusRoom.finish``, the only caller of the ``settle``
activity (an open refused before anything was frozen is only recorded).

The class is the shell: ``run`` walks the phases and each ``@workflow.*`` handler
delegates to the room that owns it (``workflows/rooms/``, one module per phase, sharing
one ``Run``). What the rooms decide is asked of the pure core (``workflows/core/``),
which the simulator (``make simulate``) checks. The names it answers to are in
``workflows/contract.py``; its patch ids in ``workflows/patches.py``.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    # cryptography's compiled bindings load once per process: passed through, never
    # re-imported by the sandbox (proof signatures are checked in workflow code)
    import cryptography.exceptions
    import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401

    from activities.withdrawal import WithdrawalActivities
    from gateways.payout import Transfer, TransferState
    from models.domain import Status, WithdrawalRequest, WithdrawalStatusDoc
    from models.messages import (
        CancelRequest,
        CodeResult,
        CodeSubmission,
        Opened,
        PayoutResolutionRequest,
        PayoutResolutionVerdict,
        RecordedDecision,
        ResendResult,
        ReviewDecision,
        ReviewDecisionKind,
    )
    from workflows.activity_options import DATABASE
    from workflows.core.rules import settlement_of
    from workflows.core.state import Money, RecordState
    from workflows.patches import (  # re-exported: tests and docs name them from here
        PATCH_AUTHORISED_CANCEL,
        PATCH_CARRIED_STATUS_ACKNOWLEDGED,
        PATCH_CODE_CHECK_ANSWERED,
        PATCH_MISMATCH_PARKED,
        PATCH_NO_LOCAL_ACTIVITIES,
        PATCH_PARKED_UNTIL_FINAL,
        PATCH_PAYOUT_CONFIRMED,
        PATCH_PLAIN_CODE_CHECK_RECORDED,
        PATCH_PROOFS_VERIFIED_BY_WORKFLOW,
        PATCH_RETURN_FOLLOWS,
        PATCH_REVIEW_PROOFS,
        PATCH_REVIEW_WAIT_SETTLES,
        PATCH_SIGNED_CANCELS_CAPPED,
        PATCH_STATUS_WITH_STEP,
        PATCH_SUBMIT_CHECKED,
        PATCH_UNKNOWN_PARKED_IN_OLD_RUNS,
        PATCH_WATCH_NOT_CANCELLED,
    )
    from workflows.rooms.cancel import CancelRoom
    from workflows.rooms.code import CodeRoom
    from workflows.rooms.context import Run, WithdrawalEnded, business_failure
    from workflows.rooms.payout import PayoutRoom
    from workflows.rooms.payout_before_patches import PayoutBeforePatches
    from workflows.rooms.review import ReviewRoom
    from workflows.rooms.review_keys import ReviewKeysRoom
    from workflows.rooms.status_record import APPROVED_NOTE, StatusRoom
    from workflows.withdrawal_state import Change

__all__ = [
    "PATCH_AUTHORISED_CANCEL",
    "PATCH_CARRIED_STATUS_ACKNOWLEDGED",
    "PATCH_CODE_CHECK_ANSWERED",
    "PATCH_MISMATCH_PARKED",
    "PATCH_NO_LOCAL_ACTIVITIES",
    "PATCH_PARKED_UNTIL_FINAL",
    "PATCH_PAYOUT_CONFIRMED",
    "PATCH_PLAIN_CODE_CHECK_RECORDED",
    "PATCH_PROOFS_VERIFIED_BY_WORKFLOW",
    "PATCH_RETURN_FOLLOWS",
    "PATCH_REVIEW_PROOFS",
    "PATCH_REVIEW_WAIT_SETTLES",
    "PATCH_SIGNED_CANCELS_CAPPED",
    "PATCH_STATUS_WITH_STEP",
    "PATCH_SUBMIT_CHECKED",
    "PATCH_UNKNOWN_PARKED_IN_OLD_RUNS",
    "PATCH_WATCH_NOT_CANCELLED",
    "WithdrawalEnded",
    "WithdrawalWorkflow",
]


@workflow.defn
class WithdrawalWorkflow:
    @workflow.init
    def __init__(self, request: WithdrawalRequest) -> None:
        self._run = Run(request)
        self._status = StatusRoom(self._run)
        self._code = CodeRoom(self._run, self._status)
        self._keys = ReviewKeysRoom(self._run)
        self._review = ReviewRoom(self._run, self._status, self._keys)
        self._cancel = CancelRoom(self._run, self._status, self._keys)
        self._payout = PayoutRoom(self._run, self._status)
        self._before_patches = PayoutBeforePatches(self._run, self._status, self._payout)

    # ---- the process -----------------------------------------------------------------
    @workflow.run
    async def run(self, request: WithdrawalRequest) -> WithdrawalStatusDoc:
        run = self._run
        run.payout.confirmed = workflow.patched(PATCH_PAYOUT_CONFIRMED)
        try:
            run.opened = await self._open()
        except WithdrawalEnded as refused:
            # Nothing was frozen: the refusal is only recorded.
            await self._status.transition(
                Change.to_status(Status.FAILED, refused.note, reason=refused.reason)
            )
            return self._status.document()
        try:
            await self._code.verify()
            if run.opened.review_reasons:
                await self._review.await_review()
            await self._review.check_authorised()
            await self._status.transition(
                Change.to_status(Status.APPROVED_AWAITING_PAYOUT, APPROVED_NOTE)
            )
            transfer = await self._pay_out()
            # Succeeded posts; returned means paid, then sent back: the hold is posted,
            # never voided, and the return credits the money back (issue 25).
            if settlement_of(RecordState(transfer.state.value)) is not Money.POSTED:
                raise WithdrawalEnded(Status.FAILED, transfer.reason or "payout failed")
            resolution = run.payout.resolution  # ops' word on an unknown outcome, if any
            await self._status.finish(
                Status.SUCCEEDED,
                "money sent" if resolution is None else resolution.why,
                reason=None,
                reference=transfer.provider_reference,
                actor=",".join(resolution.reviewers) if resolution else None,
            )
            if transfer.state is TransferState.RETURNED and workflow.patched(PATCH_RETURN_FOLLOWS):
                await self._payout.start_return()
        except WithdrawalEnded as end:
            # R19: every other way out releases the money
            await self._status.finish(end.status, end.note, reason=end.reason, actor=end.actor)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status.document()

    async def _open(self) -> Opened:
        try:
            return await workflow.execute_activity_method(
                WithdrawalActivities.open_withdrawal,
                self._run.request,
                **DATABASE,
                summary="record, check eligibility (R1 R2 R8 R9 R14), freeze funds",
            )
        except ActivityError as error:
            refusal = business_failure(error)
            if refusal is None:
                raise
            raise WithdrawalEnded(Status.FAILED, refusal) from error

    async def _pay_out(self) -> Transfer:
        """Until the provider's word is final (or ops resolved an unknown outcome)."""
        if self._run.payout.confirmed:
            return await self._payout.pay_out()
        transfer = await self._before_patches.pay_out()
        return await self._before_patches.await_settlement(transfer)

    # ---- messages: each handler delegates to the room that owns it ---------------------
    @workflow.update
    async def submit_code(self, submission: CodeSubmission) -> CodeResult:
        return await self._code.submit(submission)

    @submit_code.validator
    def _validate_submit_code(self, submission: CodeSubmission) -> None:
        self._code.validate_submit(submission)

    @workflow.update
    async def resend_code(self) -> ResendResult:
        return await self._code.resend()

    @resend_code.validator
    def _validate_resend_code(self) -> None:
        self._code.validate_resend()

    @workflow.update
    async def cancel(self, request: CancelRequest) -> WithdrawalStatusDoc:
        return await self._cancel.cancel(request)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._cancel.validate(request)

    @workflow.signal
    async def approve(self, decision: ReviewDecision) -> None:
        await self._review.receive(ReviewDecisionKind.APPROVE, decision)

    @workflow.signal
    async def reject(self, decision: ReviewDecision) -> None:
        await self._review.receive(ReviewDecisionKind.REJECT, decision)

    @workflow.signal
    async def payout_update(self, transfer: Transfer) -> None:
        await self._payout.receive_callback(transfer)

    @workflow.update
    async def resolve_payout(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        return await self._payout.resolve(request)

    @resolve_payout.validator
    def _validate_resolve_payout(self, request: PayoutResolutionRequest) -> None:
        self._payout.validate_resolve(request)

    @workflow.query
    def status(self) -> WithdrawalStatusDoc:
        return self._status.document()

    @workflow.query
    def decisions(self) -> list[RecordedDecision]:
        return self._review.decisions()
