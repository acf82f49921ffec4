"""A return after success (issue 25): confirm it with the provider, then credit it once.

``confirm_return`` applies the one check every provider record gets (key, amount, payee:
``ledger.payouts.matching``) and then asks that the record says ``returned``; a callback
that says so while the record does not (a lying or stale one) is audited and changes
nothing. ``credit_return`` is one ledger transaction (``ledger.returns.record_return``).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ActivitiesBase, refused
from ledger import payouts, returns
from models.errors import HoldConflict, NotFound
from models.returns import ReturnCheck, ReturnNotice, ReturnRecorded
from models.transfers import Transfer, TransferState


class ReturnActivities(ActivitiesBase):
    @activity.defn
    async def confirm_return(self, notice: ReturnNotice) -> ReturnCheck:
        withdrawal_id = notice.withdrawal_id
        found = await self._payout.lookup(withdrawal_id)
        looked = await self._in_transaction(payouts.matching, withdrawal_id, found)
        record = looked.transfer
        if looked.problem is not None or record is None:
            problem = looked.problem or "the provider knows no transfer"
        elif record.state is not TransferState.RETURNED:
            problem = f"the provider's record says {record.state.value}, not returned"
        else:
            return ReturnCheck(transfer=record)
        await self._in_transaction(
            returns.record_unconfirmed, withdrawal_id, notice.source, problem, self._now()
        )
        return ReturnCheck(problem=problem)

    @activity.defn
    async def credit_return(self, transfer: Transfer) -> ReturnRecorded:
        try:
            recorded = await self._in_transaction(
                returns.record_return, transfer.idempotency_key, transfer, self._now()
            )
        except returns.HoldNotPosted as waiting:
            # Retryable: the withdrawal's own workflow posts the hold, then this succeeds.
            raise ApplicationError(str(waiting), type=waiting.error_type) from None
        except (HoldConflict, NotFound) as error:
            raise refused(error) from None
        if recorded.first:
            self._metrics.withdrawal_returned(
                outcome=recorded.outcome.value, reason=recorded.reason.value
            )
        return recorded
