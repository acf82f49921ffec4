"""The payout of runs started before ``payout-confirmed-by-lookup``, kept word for word:
submit, then a timer and a look-up per poll until the provider's word is final. Only
such runs come here (``WithdrawalWorkflow.run``); they end as they began."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from gateways.payout import Transfer, TransferState
    from models.domain import Status
    from models.limits import (
        SETTLEMENT_POLL_FIRST_SECONDS,
        SETTLEMENT_POLL_MAX_SECONDS,
    )
    from workflows.activity_options import PAYOUT, PROVIDER
    from workflows.patches import (
        PATCH_UNKNOWN_PARKED_IN_OLD_RUNS,
    )
    from workflows.rooms.context import Run, WithdrawalEnded, business_failure
    from workflows.rooms.payout import PayoutRoom
    from workflows.rooms.status_record import StatusRoom
    from workflows.withdrawal_state import (
        Change,
    )


class PayoutBeforePatches:
    def __init__(self, run: Run, status: StatusRoom, payout: PayoutRoom) -> None:
        self.run = run
        self.status = status
        self.payout = payout

    async def pay_out(self) -> Transfer:
        """Send the transfer; the activity looks the key up before (re)submitting."""
        if self.run.cancel.requested is not None:
            raise self.run.cancellation()
        self.run.payout.sent = True  # from here on the money may be moving: no cancel
        try:
            transfer = await workflow.execute_activity_method(
                WithdrawalActivities.submit_payout,
                self.run.request,
                **PAYOUT,
                summary="submit payout (idempotency key = withdrawal id)",
            )
        except ActivityError as error:
            reason = business_failure(error)
            if reason is None:
                # Retries ran out of total time: the outcome is unknown, so look it
                # up once more rather than assume nothing was sent.
                if workflow.patched(PATCH_UNKNOWN_PARKED_IN_OLD_RUNS):
                    self.run.payout.submitted = True
                    looked = await self.payout.confirm(None)
                    if looked.transfer is None:
                        await self.payout.set_unknown(
                            True,
                            looked.problem
                            or "payout outcome unknown: the provider knows no transfer; "
                            "money stays held",
                        )
                    return await self.payout.await_outcome(looked.transfer)
                found = await self._check()
                if found is None:
                    raise WithdrawalEnded(
                        Status.FAILED, "payout provider unreachable; nothing was sent"
                    ) from error
                return found
            raise WithdrawalEnded(Status.FAILED, reason) from error
        self.payout.accept_transfer(transfer)  # a callback may have brought the final word first
        await self.status.transition(Change("payout accepted by the provider", publish=True))
        assert self.run.payout.transfer is not None
        return self.run.payout.transfer

    async def await_settlement(self, transfer: Transfer) -> Transfer:
        """Wait for the provider's final word: callback signal or polling."""
        poll = timedelta(seconds=SETTLEMENT_POLL_FIRST_SECONDS)
        assert self.run.opened is not None
        watch_until = self.run.opened.arrival_latest
        flagged_late = False
        while transfer.state is TransferState.PROCESSING:
            try:
                await workflow.wait_condition(
                    lambda: (
                        self.run.payout.transfer is not None
                        and self.run.payout.transfer.state is not TransferState.PROCESSING
                    ),
                    timeout=poll,
                )
            except TimeoutError:
                found = await self._check()
                if found is not None:
                    self.payout.accept_transfer(found)
            assert self.run.payout.transfer is not None
            transfer = self.run.payout.transfer
            poll = min(poll * 2, timedelta(seconds=SETTLEMENT_POLL_MAX_SECONDS))
            if not flagged_late and workflow.now() > watch_until:
                flagged_late = True
                await self.status.transition(
                    Change(
                        f"expected arrival ({self.run.opened.arrival_text}) has passed",
                        publish=True,
                    )
                )
        return transfer

    async def _check(self) -> Transfer | None:
        result: Transfer | None = await workflow.execute_activity_method(
            WithdrawalActivities.check_payout,
            self.run.request.withdrawal_id,
            **PROVIDER,
            summary="look up payout at the provider",
        )
        return result
