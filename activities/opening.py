"""Opening a withdrawal (``ledger.opening``) and the statuses the workflow records."""

from __future__ import annotations

from temporalio import activity

from activities.base import ActivitiesBase, refused
from ledger import opening, status_changes
from models.domain import WithdrawalRequest
from models.errors import InputError, RuleRefusal
from models.messages import Opened, StatusChange


class OpeningActivities(ActivitiesBase):
    @activity.defn
    async def open_withdrawal(self, request: WithdrawalRequest) -> Opened:
        """Record the withdrawal, check it (R1 R2 R5 R8 R9) and freeze the money (R14).

        Check and freeze share one transaction under the account lock; a refusal is
        written to the record in a second one so the user sees why.
        """
        now = self._now()
        try:
            result = await self._in_transaction(
                opening.open_withdrawal, request, now, self._four_eyes_threshold
            )
        except (RuleRefusal, InputError) as refusal:
            # The checks' transaction rolled back; the refusal is recorded on its own.
            await self._in_transaction(opening.record_refusal, request, str(refusal), now)
            raise refused(refusal) from None
        opened = result.opened
        if result.newly_held:  # counted once: a retry finds the hold and counts nothing
            self._metrics.withdrawal_started(route=request.route.value, kind=request.kind.value)
            activity.logger.info(
                "opened: %s frozen, route %s, review %s",
                opened.hold_amount,
                request.route.value,
                "required" if opened.review_reasons else "not required",
            )
        return opened

    @activity.defn
    async def record_status(self, change: StatusChange) -> None:
        written = await self._in_transaction(status_changes.record_status, change, self._now())
        if written is not None and change.status.is_final:  # a refusal at opening
            route, kind = written
            self._metrics.withdrawal_finished(status=change.status.value, route=route, kind=kind)
