"""The status record: the one writer of what the withdrawal shows (status, reason,
flags, timeline, search attributes, Web UI details) and the one place the hold is
resolved (``finish``: the ``settle`` activity posts on success, voids otherwise)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from models.domain import STATUS_LABELS_ZH, Status, TimelineEntry, WithdrawalStatusDoc
    from models.messages import (
        ReviewDecisionKind,
        Settlement,
        StatusChange,
    )
    from workflows.activity_options import DATABASE
    from workflows.patches import PATCH_CARRIED_STATUS_ACKNOWLEDGED, PATCH_STATUS_WITH_STEP
    from workflows.rooms.context import Run
    from workflows.search_attributes import (
        PAYOUT_UNKNOWN,
        REVIEW_OVERDUE,
        REVIEW_REQUIRED,
        WITHDRAWAL_STATUS,
    )
    from workflows.withdrawal_state import (
        Change,
    )


APPROVED_NOTE = "approved, paying out"  # the line of ``run``'s step to the payout


class StatusRoom:
    def __init__(self, run: Run) -> None:
        self.run = run

    # ---- a status written with the step that causes it (PATCH_STATUS_WITH_STEP) --------
    def carry(self, status: Status, note: str) -> StatusChange | None:
        """The change for an activity to write with its own step, or None: this run
        records its changes itself (recorded before the patch).

        Why the ledger's status stays right. An activity carries only the status ``run``
        takes next whatever else happens once the activity succeeds, and the workflow
        marks it written (``Record.ahead``) in the same step that sees the success:

        - The code check carries the status after a right code: "approved, paying out"
          on the auto path (``run`` goes from ``verify`` through ``check_authorised``, a
          no-op without review reasons, to that step, with no wait in between), or "under
          review" (``await_review``'s first step). A cancel, an expiry or a last wrong
          attempt that lands while such a check is in flight waits for its answer
          (``CodeRoom.verify``): a right code wins and ``run`` really takes the status
          written; a cancel then ends the run at ``pay_out``'s or ``await_review``'s
          first look, as a cancel landing just after the check always did. A cancel
          between the approval and the submit is the same: the status was taken, then
          ``settle`` writes the end.
        - The approval that completes a review carries "approved, paying out": once it
          is accepted the loop ends and ``run`` goes straight to that step; only
          ``check_authorised`` (a broken invariant, which the same activity's weighing
          makes a bug) or a cancel can end the run first, and ``settle`` then writes
          the end over it.

        Final statuses are written by ``settle`` alone, after every status a run passes
        through, and a carried status never overrides a final one
        (``ledger.status_changes.record_with_step``). A recorded change that comes
        between a carried status and ``run``'s step to it (the count of refused
        decisions after the deciding approval) is, since
        PATCH_CARRIED_STATUS_ACKNOWLEDGED, filed under the carried status, which stays
        written: the ledger never goes back and the step records nothing again
        (``transition``). Before it, such a change was recorded under the status ``run``
        was in and the step recorded its status again (later changes override earlier
        ones), so the ledger ended where the run is, but went back on the way. A retried
        step writes nothing twice (the ledger answers a retry as the first time)."""
        if self.run.record.carries is None:
            self.run.record.carries = workflow.patched(PATCH_STATUS_WITH_STEP)
        if not self.run.record.carries:
            return None
        return StatusChange(withdrawal_id=self.run.request.withdrawal_id, status=status, note=note)

    def after_code(self) -> StatusChange | None:
        """What a right code leads to, for the code check to write (``carry``)."""
        reasons = self.run.review_reasons()
        if reasons:
            return self.carry(Status.UNDER_REVIEW, "; ".join(reasons))
        return self.carry(Status.APPROVED_AWAITING_PAYOUT, APPROVED_NOTE)

    def after_approval(self, kind: ReviewDecisionKind, reviewer_id: str) -> StatusChange | None:
        """For a decision that, accepted, completes the approvals: "approved, paying
        out", for the review decision to write (``carry``). None for any other."""
        review = self.run.review
        if kind is not ReviewDecisionKind.APPROVE or reviewer_id in review.approvers:
            return None
        if len(review.approvers) + 1 < self.run.approvals_required():
            return None
        return self.carry(Status.APPROVED_AWAITING_PAYOUT, APPROVED_NOTE)

    def written_ahead(self, change: StatusChange | None) -> None:
        """An activity wrote ``change`` with its step: ``run``'s step to it records nothing."""
        if change is not None:
            self.run.record.ahead = change

    def written_if_acknowledged(self, change: StatusChange | None, acknowledged: bool) -> None:
        """``written_ahead`` for a regular activity, which any worker on the task queue may
        run, one deployed before PATCH_STATUS_WITH_STEP included (it drops ``then`` and
        writes nothing): since PATCH_CARRIED_STATUS_ACKNOWLEDGED only the activity's own
        word (``acknowledged``) marks ``change`` written; else ``run``'s step records it."""
        if change is None:
            return
        record = self.run.record
        if record.acknowledged is None:
            record.acknowledged = workflow.patched(PATCH_CARRIED_STATUS_ACKNOWLEDGED)
        if acknowledged or not record.acknowledged:
            self.written_ahead(change)

    async def transition(self, change: Change) -> None:
        """The one writer of ``self.run.record`` (status, reason, flags, timeline) and of
        what follows from it: the ``record_status`` activity when asked (a local activity
        in runs before PATCH_NO_LOCAL_ACTIVITIES), the search
        attributes and the Web UI details.

        The order is part of the command sequence that saved histories replay, and of
        what handlers waiting on the status see: fields first; then the timeline line,
        which for a final status comes only once the ledger recorded it; then the record;
        then the upsert. Only ``run``'s own steps pass a status, so a record is made
        under the status ``run`` is in, or under the one an activity wrote ahead of
        ``run``'s step to it (``_kept_ahead``). A change without ``record`` never
        suspends, nor does one an activity wrote already with its own step (``carry``).
        """
        record = self.run.record
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
            kept = self._kept_ahead(change)
            recorded = StatusChange(
                withdrawal_id=self.run.request.withdrawal_id,
                status=kept.status if kept is not None else status,
                note=change.note,
                reason=change.reason,
                review_overdue=change.review_overdue,
                payout_unknown=change.payout_unknown,
            )
            # Written already by the step that caused it (PATCH_STATUS_WITH_STEP); any
            # other recorded change is filed under it (``kept``) or, in runs before
            # PATCH_CARRIED_STATUS_ACKNOWLEDGED, puts the ledger back in step (``carry``).
            ahead, record.ahead = record.ahead, kept
            if recorded != ahead and self.run.runs_activities_only():
                await workflow.execute_activity_method(
                    WithdrawalActivities.record_status,
                    recorded,
                    **DATABASE,
                    summary=change.record,
                )
            elif recorded != ahead:
                await workflow.execute_local_activity_method(
                    WithdrawalActivities.record_status,
                    recorded,
                    **DATABASE,
                    summary=change.record,
                )
        if status.is_final:
            note()  # a final status is noted once recorded (settled or refused at open)
        flags = (change.status, change.review_overdue, change.payout_unknown)
        if change.publish or any(flag is not None for flag in flags):
            self._publish()

    def _kept_ahead(self, change: Change) -> StatusChange | None:
        """The carried status an acknowledged activity wrote ahead of ``run``'s step to
        it (PATCH_CARRIED_STATUS_ACKNOWLEDGED): a recorded line without a status of its
        own, made meanwhile, is filed under it in the ledger, which shows it already, and
        the step still records nothing. None in runs before the patch, where the line is
        filed under the record's status and the step records its status again."""
        record = self.run.record
        if record.ahead is None or not record.acknowledged or change.status is not None:
            return None
        return record.ahead

    def _publish(self) -> None:
        """Search attributes and current details for ops in the Web UI (``transition``)."""
        record = self.run.record
        review_required = bool(self.run.review_reasons())
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
            f"amount {self.run.request.amount} · route {self.run.request.route.value}",
        ]
        if review_required and record.status is Status.UNDER_REVIEW:
            details.append(
                f"approvals {len(self.run.review.approvers)} of {self.run.approvals_required()}"
            )
        if record.review_overdue:
            details.append("review overdue")
        if record.payout_unknown:
            details.append("payout outcome unknown: money held until resolved")
        if record.reason:
            details.append(f"reason: {record.reason}")
        workflow.set_current_details("\n\n".join(details))

    def document(self) -> WithdrawalStatusDoc:
        request = self.run.request
        return WithdrawalStatusDoc(
            id=request.withdrawal_id,
            account_id=request.account_id,
            status=self.run.record.status,
            status_zh=STATUS_LABELS_ZH[self.run.record.status],
            amount=request.amount,
            route=request.route,
            kind=request.kind,
            order_id=request.order_id,
            reason=self.run.record.reason,
            payee=request.payee.masked if request.payee else None,
            review_required=bool(self.run.review_reasons()),
            review_overdue=self.run.record.review_overdue,
            code_attempts_left=self.run.code.attempts_left,
            expected_arrival=self.run.opened.arrival_latest if self.run.opened else None,
            provider_reference=self.run.payout.transfer.provider_reference
            if self.run.payout.transfer
            else None,
            approvals=list(self.run.review.approvers),
            approvals_required=self.run.approvals_required(),
            payout_unknown=self.run.record.payout_unknown,
            payout_callbacks_ignored=self.run.payout.callbacks_ignored,
            timeline=list(self.run.record.timeline),
        )

    async def finish(
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
                withdrawal_id=self.run.request.withdrawal_id,
                status=status,
                note=note,
                reason=reason,
                provider_reference=reference,
                actor=actor,
            ),
            **DATABASE,
            summary="post hold" if status is Status.SUCCEEDED else "release hold (R19)",
        )
        # a final status is the answer: no longer parked
        await self.transition(Change(note, status=status, reason=reason, payout_unknown=False))
