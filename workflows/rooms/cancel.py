"""R2/R18: a cancel before the payout was sent, authorised (and audited) by the
``authorize_cancel`` activity; ``run`` acts on it at its next wait."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from models.domain import WithdrawalStatusDoc
    from models.limits import (
        MAX_CANCEL_REFUSALS,
    )
    from models.messages import (
        CancelCheck,
        CancelRequest,
    )
    from workflows.activity_options import DATABASE
    from workflows.patches import (
        PATCH_AUTHORISED_CANCEL,
    )
    from workflows.rooms.context import Run
    from workflows.rooms.status_record import StatusRoom


class CancelRoom:
    def __init__(self, run: Run, status: StatusRoom) -> None:
        self.run = run
        self.status = status

    async def cancel(self, request: CancelRequest) -> WithdrawalStatusDoc:
        if workflow.patched(PATCH_AUTHORISED_CANCEL):
            request = await self._authorise_cancel(request)
        self.run.cancel.requested = request
        await workflow.wait_condition(lambda: self.run.record.status.is_final)
        return self.status.document()

    async def _authorise_cancel(self, request: CancelRequest) -> CancelRequest:
        """R2/R18: who may cancel is decided (and audited) by the ``authorize_cancel``
        activity, so every face (CLI, HTTP API) gets the same answer."""
        self.run.cancel.checking = True
        try:
            await workflow.wait_condition(
                lambda: self.run.opened is not None or self.run.record.status.is_final
            )
            verdict = await workflow.execute_activity_method(
                WithdrawalActivities.authorize_cancel,
                CancelCheck(
                    withdrawal_id=self.run.request.withdrawal_id,
                    request=request,
                    at=workflow.now(),
                    applicants=sorted(self.run.applicants()),
                ),
                **DATABASE,
                summary="authorise and audit cancel (R2)",
            )
        finally:
            self.run.cancel.checking = False
        if not verdict.allowed:
            self.run.cancel.refusals += 1
            raise ApplicationError(verdict.why, type="CancelNotAuthorised")
        if self.run.record.status.is_final or self.run.payout.sent:
            raise ApplicationError(
                "R18: the payout has been sent; it can no longer be cancelled",
                type="CancelTooLate",
            )
        return CancelRequest(by=verdict.actor)

    def validate(self, request: CancelRequest) -> None:
        if self.run.record.status.is_final:
            raise ValueError(f"the withdrawal is already {self.run.record.status.value}")
        if self.run.payout.sent:
            raise ValueError("the payout has been sent; it can no longer be cancelled")
        if self.run.cancel.requested is not None or self.run.cancel.checking:
            raise ValueError("a cancellation is already under way")
        if self.run.cancel.refusals >= MAX_CANCEL_REFUSALS:
            raise ValueError(f"R2: {MAX_CANCEL_REFUSALS} cancel attempts were refused already")
