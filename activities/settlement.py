"""Ending a withdrawal: its hold posted or voided and its final status written, in one
transaction (``ledger.settlement``)."""

from __future__ import annotations

from temporalio import activity

from activities.base import ActivitiesBase, refused
from ledger import settlement as ledger_settlement
from models.errors import RuleRefusal
from models.messages import Settlement


class SettlementActivities(ActivitiesBase):
    @activity.defn
    async def settle(self, settlement: Settlement) -> None:
        """Post the hold on success, void it otherwise (R19), and write the final
        status, in one transaction. Running it twice changes nothing."""
        now = self._now()
        try:
            finished = await self._in_transaction(ledger_settlement.finish, settlement, now)
        except RuleRefusal as conflict:
            # A hold resolved the other way is a broken invariant: stop loudly.
            raise refused(conflict) from None
        if finished is None:  # a retry after the commit: counted the first time
            return
        status = settlement.status.value
        activity.logger.info("finished: %s", status)
        self._metrics.withdrawal_finished(status=status, route=finished.route, kind=finished.kind)
        if finished.payout_submitted_at is not None:
            self._metrics.payout_finished(
                route=finished.route, status=status, latency=now - finished.payout_submitted_at
            )
