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
from gateways.payout import KeyConflict, TransferRejected
from ledger import payouts
from ledger.payout_resolution import ask_provider_before_release, record_resolution
from models.domain import WithdrawalRequest
from models.messages import (
    PayoutCheck,
    PayoutLookup,
    PayoutResolutionRequest,
    PayoutResolutionVerdict,
    PayoutWatch,
)
from models.transfers import Transfer, TransferState
from observability.metrics import PROVIDER_PAYOUT

T = TypeVar("T")


class PayoutActivities(ActivitiesBase):
    @activity.defn
    async def submit_payout(self, request: WithdrawalRequest) -> Transfer:
        """The submit of runs started before ``payout-submit-checked`` (its result type
        is in their histories). A provider record that does not match, or a key conflict,
        is a retryable failure here, never a transfer to act on and never a refusal that
        releases the money: when the 24 hours of retries run out the workflow looks once
        more and parks the payout."""
        looked = await self._submit_checked(request)
        if looked.transfer is None:
            why = looked.problem or "the provider's record does not match"
            raise ApplicationError(why, type="ProviderRecordMismatch")
        return looked.transfer

    @activity.defn
    async def submit_payout_checked(self, request: WithdrawalRequest) -> PayoutLookup:
        """Look the key up first (an earlier attempt whose answer was lost may have moved
        the money already: never "not sent"), then submit. Every record (the look-up's,
        the submit's answer, the one behind a key conflict) goes through the one check;
        one that does not match comes back as ``problem`` at once, for the workflow to
        park, and is audited."""
        return await self._submit_checked(request)

    async def _submit_checked(self, request: WithdrawalRequest) -> PayoutLookup:
        existing = await self._provider_call(self._payout.lookup(request.withdrawal_id))
        if existing is not None:
            return await self._checked(request, existing, "found", "the look-up before a submit")
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
        except KeyConflict:
            # Taken with other details: a transfer exists under the key. Look it up and
            # check it; without a record to check, the attempt is retried.
            held = await self._provider_call(self._payout.lookup(request.withdrawal_id))
            if held is None:
                raise ApplicationError(
                    "the provider reports a key conflict but shows no transfer",
                    type="KeyConflictUnseen",
                ) from None
            return await self._checked(request, held, "found", "a key conflict at submit")
        return await self._checked(request, accepted, "submitted", "the submit's answer")

    async def _checked(
        self, request: WithdrawalRequest, found: Transfer, outcome: str, where: str
    ) -> PayoutLookup:
        """``found`` through the one check, audited either way."""
        looked = await self._in_transaction(payouts.matching, request.withdrawal_id, found)
        if looked.transfer is not None:
            await self._audit_payout(request, looked.transfer, outcome)
        else:
            await self._in_transaction(
                payouts.record_mismatch, request.withdrawal_id, where, looked, self._now()
            )
        return looked

    async def _audit_payout(
        self, request: WithdrawalRequest, transfer: Transfer | None, outcome: str, why: str = ""
    ) -> None:
        await self._in_transaction(
            payouts.record_submission, request, transfer, outcome, why, self._now()
        )

    @activity.defn
    async def check_payout(self, withdrawal_id: str) -> Transfer | None:
        """The look-up of runs started before ``payout-confirmed-by-lookup``: only a
        record that passes the one check is returned (one that does not is "not yet")."""
        found = await self._provider_call(self._payout.lookup(withdrawal_id))
        looked = await self._in_transaction(payouts.matching, withdrawal_id, found)
        return looked.transfer

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
        elif looked.problem is not None:
            await self._in_transaction(
                payouts.record_mismatch,
                check.withdrawal_id,
                "the look-up after the submit's retries ran out",
                looked,
                self._now(),
            )
        return looked

    @activity.defn
    async def watch_payout(self, watch: PayoutWatch) -> PayoutLookup:
        """One look-up; "not yet" is a retryable failure, so Temporal's retries (capped
        interval, no limit) are the polling loop and add nothing to the history. A record
        that does not match is reported once (``report_mismatch``, audited) so the workflow
        can park; a watch started after that takes it as one more "not yet"."""
        found = await self._payout.lookup(watch.withdrawal_id)
        looked = await self._in_transaction(payouts.matching, watch.withdrawal_id, found)
        if looked.problem is not None:
            if not watch.report_mismatch:
                raise _pending("the provider's record still does not match; parked")
            await self._in_transaction(
                payouts.record_mismatch, watch.withdrawal_id, "the watch", looked, self._now()
            )
            return looked
        if looked.transfer is None:
            raise _pending("the provider knows no transfer yet")
        if watch.until_final and looked.transfer.state is TransferState.PROCESSING:
            raise _pending("the transfer is still processing")
        return looked

    @activity.defn
    async def resolve_payout(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        """Weigh and record an ops resolution (``ledger.payout_resolution``); a ``not_paid``
        one is weighed against the provider's record, asked once more right now."""
        provider = await ask_provider_before_release(self._payout, request)
        return await self._in_transaction(
            record_resolution, request, self._now(), self._review_verify_key, provider
        )


def _pending(why: str) -> ApplicationError:
    """A poll that found no news: benign (logged at DEBUG), retried as the next poll."""
    return ApplicationError(why, type="PayoutPending", category=ApplicationErrorCategory.BENIGN)
