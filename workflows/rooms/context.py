"""What every room shares: the request, what ``open_withdrawal`` decided, and the state
dataclasses (``workflows/withdrawal_state.py``), plus the way a withdrawal ends early."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from gateways.payout import Transfer
    from models.domain import Status, TimelineEntry, WithdrawalRequest
    from models.messages import Opened
    from workflows.core.state import RecordState
    from workflows.patches import PATCH_NO_LOCAL_ACTIVITIES
    from workflows.withdrawal_state import (
        CancelState,
        CodeState,
        PayoutState,
        ProofKeys,
        Record,
        ReviewState,
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


class Run:
    """One withdrawal's state, shared by the rooms (only ``run`` and the handlers write)."""

    def __init__(self, request: WithdrawalRequest) -> None:
        self.request = request
        self.opened: Opened | None = None  # what ``open_withdrawal`` decided
        self.record = Record(
            status=Status.VERIFYING,
            timeline=[
                TimelineEntry(
                    at=workflow.now(), status=Status.VERIFYING, note="withdrawal requested"
                )
            ],
        )
        self.code = CodeState()
        self.review = ReviewState()
        self.cancel = CancelState()
        self.payout = PayoutState()
        self.keys = ProofKeys()  # the review keys this run loaded (issue 22)
        self.activities_only: bool | None = None  # PATCH_NO_LOCAL_ACTIVITIES, once asked

    def runs_activities_only(self) -> bool:
        """Whether ``check_code`` and ``record_status`` run as activities (since
        PATCH_NO_LOCAL_ACTIVITIES) rather than local activities. Live, core could hand a
        local activity's result to the workflow one activation late, after the next
        task's events, while replay hands it over in its own task: code after it then
        ran at different points live and on replay. An activity's result is a history
        event, handed over at the same point in both. Asked at the first of the two the
        run runs, so a run that ran a local activity before the deploy keeps them."""
        if self.activities_only is None:
            self.activities_only = workflow.patched(PATCH_NO_LOCAL_ACTIVITIES)
        return self.activities_only

    def review_reasons(self) -> list[str]:
        return self.opened.review_reasons if self.opened else []

    def approvals_required(self) -> int:
        return self.opened.approvals_required if self.opened else 1

    def applicants(self) -> set[str]:
        """``models.authority.applicants`` as recorded at open; runs opened before it was
        recorded fall back to what their request names."""
        if self.opened is not None and self.opened.applicants:
            return set(self.opened.applicants)
        return {i for i in (self.request.account_id, self.request.actor) if i}

    def cancellation(self) -> WithdrawalEnded:
        assert self.cancel.requested is not None
        by = self.cancel.requested.by or self.request.actor
        return WithdrawalEnded(
            Status.CANCELLED, "cancelled by the user", f"cancelled by {by}", actor=by
        )


def business_failure(error: ActivityError) -> str | None:
    """The user-facing reason of a non-retryable business failure, else None."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    return None


def record_state(transfer: Transfer | None) -> RecordState | None:
    """A provider record's state in the core's words (None: no record)."""
    return None if transfer is None else RecordState(transfer.state.value)
