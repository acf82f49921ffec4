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
        Settlement,
        StatusChange,
    )
    from workflows.activity_options import DATABASE
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


class StatusRoom:
    def __init__(self, run: Run) -> None:
        self.run = run

    async def transition(self, change: Change) -> None:
        """The one writer of ``self.run.record`` (status, reason, flags, timeline) and of
        what follows from it: the ``record_status`` local activity when asked, the search
        attributes and the Web UI details.

        The order is part of the command sequence that saved histories replay, and of
        what handlers waiting on the status see: fields first; then the timeline line,
        which for a final status comes only once the ledger recorded it; then the record;
        then the upsert. Only ``run``'s own steps pass a status, so a record is always
        made under the status ``run`` is in. A change without ``record`` never suspends.
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
            await workflow.execute_local_activity_method(
                WithdrawalActivities.record_status,
                StatusChange(
                    withdrawal_id=self.run.request.withdrawal_id,
                    status=status,
                    note=change.note,
                    reason=change.reason,
                    review_overdue=change.review_overdue,
                    payout_unknown=change.payout_unknown,
                ),
                **DATABASE,
                summary=change.record,
            )
        if status.is_final:
            note()  # a final status is noted once recorded (settled or refused at open)
        flags = (change.status, change.review_overdue, change.payout_unknown)
        if change.publish or any(flag is not None for flag in flags):
            self._publish()

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
