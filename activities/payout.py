"""The payout provider's side: submit, look up, watch, confirm a callback, and ops'
resolution of a payout whose outcome is unknown. The ledger (``ledger.payouts``)
says what to submit, whether the provider's record is this withdrawal's transfer,
and audits each call; a provider call is the change, its audit row follows."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.base import ActivitiesBase
from gateways.payout import Transfer, TransferRejected, TransferState
from ledger import payouts
from ledger.payout_resolution import record_resolution
from models.domain import WithdrawalRequest
from models.messages import (
    PayoutCheck,
    PayoutLookup,
    PayoutResolutionRequest,
    PayoutResolutionVerdict,
    PayoutWatch,
)
from observability.metrics import PROVIDER_PAYOUT

T = TypeVar("T")


class PayoutActivities(ActivitiesBase):
    @activity.defn
    async def submit_payout(self, request: WithdrawalRequest) -> Transfer:
        """Look the key up first: an earlier attempt whose answer was lost may have
        moved the money already, and must never be treated as "not sent"."""
        existing = await self._provider_call(self._payout.lookup(request.withdrawal_id))
        if existing is not None:
            await self._audit_payout(request, existing, "found")
            return existing
        transfer, refusal = await self._read_only(
            payouts.prepare_transfer, request, self._callback_url
        )
        if refusal is not None:
            # R1 again right before money moves: frozen or closed during review.
            await self._audit_payout(request, None, "refused", refusal)
            raise ApplicationError(refusal, type="AccountNotEligible", non_retryable=True)
        try:
            accepted = await self._provider_call(self._payout.submit(transfer))
        except TransferRejected as rejected:
            await self._audit_payout(request, None, "refused", rejected.reason)
            raise ApplicationError(
                rejected.reason, type="TransferRejected", non_retryable=True
            ) from None
        await self._audit_payout(request, accepted, "submitted")
        return accepted

    async def _audit_payout(
        self, request: WithdrawalRequest, transfer: Transfer | None, outcome: str, why: str = ""
    ) -> None:
        await self._in_transaction(
            payouts.record_submission, request, transfer, outcome, why, self._now()
        )

    @activity.defn
    async def check_payout(self, withdrawal_id: str) -> Transfer | None:
        return await self._provider_call(self._payout.lookup(withdrawal_id))

    async def _provider_call(self, call: Awaitable[T]) -> T:
        """A payout provider call, its failures counted by kind (ops alert on them)."""
        try:
            return await call
        except Exception as error:
            self._metrics.provider_error(provider=PROVIDER_PAYOUT, error=error)
            raise

    @activity.defn
    async def confirm_payout(self, check: PayoutCheck) -> PayoutLookup:
        """The provider's own record of the transfer, acted on only when key, amount and
        payee match the request. A callback being confirmed is audited: confirmed when
        the record agrees with it, ignored when it does not."""
        found = await self._payout.lookup(check.withdrawal_id)
        looked = await self._in_transaction(payouts.matching, check.withdrawal_id, found)
        if check.callback is not None:
            await self._in_transaction(
                payouts.record_callback, check.withdrawal_id, check.callback, looked, self._now()
            )
        return looked

    @activity.defn
    async def watch_payout(self, watch: PayoutWatch) -> PayoutLookup:
        """One look-up; "not yet" is a retryable failure, so Temporal's retries (capped
        interval, no limit) are the polling loop and add nothing to the history."""
        found = await self._payout.lookup(watch.withdrawal_id)
        looked = await self._in_transaction(payouts.matching, watch.withdrawal_id, found)
        if looked.problem is not None or looked.transfer is None:
            if looked.problem is not None:
                return looked
            raise _pending("the provider knows no transfer yet")
        if watch.until_final and looked.transfer.state is TransferState.PROCESSING:
            raise _pending("the transfer is still processing")
        return looked

    @activity.defn
    async def resolve_payout(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        """Weigh and record an ops resolution (``ledger.payout_resolution``)."""
        return await self._in_transaction(
            record_resolution, request, self._now(), self._review_verify_key
        )


def _pending(why: str) -> ApplicationError:
    """A poll that found no news: benign (logged at DEBUG), retried as the next poll."""
    return ApplicationError(why, type="PayoutPending", category=ApplicationErrorCategory.BENIGN)
