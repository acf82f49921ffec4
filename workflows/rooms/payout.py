"""The payout since ``payout-confirmed-by-lookup``: submit (the key is the withdrawal
id), then wait for the provider's own record, checked (key, amount, route, payee) before
anything is acted on; callbacks are hints; an unknown outcome or a record that does not
match is parked (money held) until the provider or ops answer. What a record makes the
payout do is ``workflows.core.rules.record_action``; whether a callback is taken,
``callback_verdict``; whether ``resolve-payout`` is heard, ``resolution_open``."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.withdrawal import WithdrawalActivities
    from gateways.payout import Transfer, TransferState
    from models.domain import Status
    from models.limits import (
        MAX_IGNORED_CALLBACK_NOTES,
        PAYOUT_RETRY_TOTAL_HOURS,
    )
    from models.messages import (
        PayoutCheck,
        PayoutLookup,
        PayoutOutcome,
        PayoutResolutionRequest,
        PayoutResolutionVerdict,
        PayoutWatch,
    )
    from models.returns import RETURN_WORKFLOW_TYPE, ReturnNotice, return_workflow_id
    from workflows.activity_options import DATABASE, PAYOUT, PROVIDER, watch_options
    from workflows.core.rules import (
        RecordAction,
        callback_verdict,
        record_action,
        resolution_open,
    )
    from workflows.patches import (
        PATCH_MISMATCH_PARKED,
        PATCH_PARKED_UNTIL_FINAL,
        PATCH_SUBMIT_CHECKED,
        PATCH_WATCH_NOT_CANCELLED,
    )
    from workflows.rooms.context import Run, WithdrawalEnded, business_failure, record_state
    from workflows.rooms.status_record import StatusRoom
    from workflows.withdrawal_state import (
        Change,
        asyncio,
    )


SETTLE = RecordAction.SETTLE  # a matching final record: the payout is over


class PayoutRoom:
    def __init__(self, run: Run, status: StatusRoom) -> None:
        self.run = run
        self.status = status

    async def pay_out(self) -> Transfer:
        """Since PATCH_PAYOUT_CONFIRMED: submit, then wait for the provider's own record.

        Nothing final is taken from a callback: each one only prompts a look-up, and
        the look-up must match key, amount and payee. When the submit's retries run out
        and the provider knows no transfer, the outcome is unknown: the money stays held
        (``payout_unknown``) until the provider answers or ops resolve it."""
        if self.run.cancel.requested is not None:
            raise self.run.cancellation()
        self.run.payout.sent = True  # from here on the money may be moving: no cancel
        transfer: Transfer | None
        looked: PayoutLookup | None = None
        try:
            if workflow.patched(PATCH_SUBMIT_CHECKED):
                checked: PayoutLookup = await workflow.execute_activity_method(
                    WithdrawalActivities.submit_payout_checked,
                    self.run.request,
                    **PAYOUT,
                    summary="submit payout, its record checked (key = withdrawal id)",
                )
                looked, transfer = checked, checked.transfer
            else:
                transfer = await workflow.execute_activity_method(
                    WithdrawalActivities.submit_payout,
                    self.run.request,
                    **PAYOUT,
                    summary="submit payout (idempotency key = withdrawal id)",
                )
            self.run.payout.submitted = True
        except ActivityError as error:
            reason = business_failure(error)
            if reason is not None:  # refused for good: nothing was sent
                raise WithdrawalEnded(Status.FAILED, reason) from error
            self.run.payout.submitted = True  # an attempt may have reached the provider
            looked = await self.confirm(None)
            transfer = looked.transfer
            if transfer is None:
                await self.set_unknown(
                    True,
                    looked.problem
                    or f"payout outcome unknown: no answer for {PAYOUT_RETRY_TOTAL_HOURS} "
                    "hours and the provider knows no transfer; money stays held",
                )
                if looked.problem is not None and workflow.patched(PATCH_MISMATCH_PARKED):
                    self.run.payout.mismatch = looked.problem  # parked: watched quietly
        else:
            if looked is not None and looked.problem is not None:
                await self._park_mismatch(looked.problem)
            else:
                await self.status.transition(
                    Change("payout accepted by the provider", publish=True)
                )
        return await self.await_outcome(transfer)

    async def await_outcome(self, transfer: Transfer | None) -> Transfer:
        """Until the provider's record is final (or ops resolved an unknown outcome)."""
        assert self.run.opened is not None
        flagged_late = workflow.now() > self.run.opened.arrival_latest
        watch: asyncio.Future[PayoutLookup] | None = None  # kept running across waits
        while True:
            resolved = self._resolved_transfer()
            if resolved is not None:
                self.run.payout.transfer = resolved
                return resolved
            if transfer is not None:
                self.run.payout.transfer = transfer  # what the status document shows
            if transfer is not None and record_action(record_state(transfer), None) is SETTLE:
                return transfer
            if watch is None:
                watch = workflow.start_activity_method(
                    WithdrawalActivities.watch_payout,
                    PayoutWatch(
                        withdrawal_id=self.run.request.withdrawal_id,
                        until_final=bool(transfer) or self._parked_until_final(),
                        report_mismatch=self.run.payout.mismatch is None,
                    ),
                    **watch_options(until_final=bool(transfer)),
                    summary="watch payout at the provider (retries are the polls)",
                )
            flagged_late = await self._wait_for_news(watch, flagged_late)
            if not watch.done() and workflow.patched(PATCH_WATCH_NOT_CANCELLED):
                looked = None  # news came first: the watch goes on, never cancelled
            else:
                looked = await self._finish_watch(watch)
                watch = None
            if looked is None and self.run.payout.callback_hint is not None:
                hint, self.run.payout.callback_hint = self.run.payout.callback_hint, None
                looked = await self.confirm(hint)
                if looked.transfer is None or looked.transfer.state is not hint.state:
                    await self._note_ignored_callback(hint, looked)
            if looked is None:
                continue  # ops resolved it: the loop's first line ends it
            action = record_action(record_state(looked.transfer), looked.problem)
            if action is RecordAction.PARK and looked.problem is not None:
                if workflow.patched(PATCH_MISMATCH_PARKED):
                    await self._park_mismatch(looked.problem)
                elif not self.run.record.payout_unknown:
                    await self.set_unknown(True, looked.problem)
                transfer = None
            elif (
                looked.transfer is not None
                and looked.transfer.state is TransferState.PROCESSING
                and self._parked_until_final()
            ):
                transfer = None  # matching, not final: a flip could mismatch again
            elif looked.transfer is not None:
                self.run.payout.mismatch = None  # the record matches now
                if self.run.record.payout_unknown:
                    await self.set_unknown(False, "the provider knows the transfer")
                transfer = looked.transfer

    def _parked_until_final(self) -> bool:
        """Parked on a mismatch, since PATCH_PARKED_UNTIL_FINAL: only a final matching
        record unparks it (decided the first time it is asked while parked)."""
        if self.run.payout.mismatch is None:
            return False
        if self.run.payout.until_final is None:
            self.run.payout.until_final = workflow.patched(PATCH_PARKED_UNTIL_FINAL)
        return self.run.payout.until_final

    async def _wait_for_news(self, watch: asyncio.Future[PayoutLookup], flagged_late: bool) -> bool:
        assert self.run.opened is not None
        while not (
            watch.done() or self.run.payout.callback_hint is not None or self._resolution_final()
        ):
            timeout = None if flagged_late else self.run.opened.arrival_latest - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: (
                        watch.done()
                        or self.run.payout.callback_hint is not None
                        or self._resolution_final()
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                flagged_late = True
                await self.status.transition(
                    Change(
                        f"expected arrival ({self.run.opened.arrival_text}) has passed",
                        publish=True,
                    )
                )
        return flagged_late

    async def _finish_watch(self, watch: asyncio.Future[PayoutLookup]) -> PayoutLookup | None:
        """The watch's answer, or None once it was cancelled for a callback or a resolution."""
        if not watch.done():
            watch.cancel()
        try:
            return await watch
        except (ActivityError, asyncio.CancelledError):
            return None

    def _resolution_final(self) -> bool:
        return self.run.payout.resolution is not None and self.run.payout.resolution.final

    def _resolved_transfer(self) -> Transfer | None:
        verdict = self.run.payout.resolution
        if verdict is None or not verdict.final:
            return None
        if verdict.outcome is PayoutOutcome.NOT_PAID:
            raise WithdrawalEnded(
                Status.FAILED,
                "payout not made, as confirmed by ops (R19: money released)",
                verdict.why,
                actor=",".join(verdict.reviewers),
            )
        return Transfer(
            idempotency_key=self.run.request.withdrawal_id,
            state=TransferState.SUCCEEDED,
            amount=self.run.request.amount,
            provider_reference=verdict.reference,
        )

    async def confirm(self, callback: Transfer | None) -> PayoutLookup:
        result: PayoutLookup = await workflow.execute_activity_method(
            WithdrawalActivities.confirm_payout,
            PayoutCheck(withdrawal_id=self.run.request.withdrawal_id, callback=callback),
            **PROVIDER,
            summary="look the payout up at the provider (key, amount, payee must match)",
        )
        return result

    async def _park_mismatch(self, problem: str) -> None:
        """A provider record that does not match is never acted on: the payout is parked
        (money held, ``attention`` lists it) with the mismatch in the timeline and the
        ledger, once per distinct problem, and from here on watched quietly on the parked
        schedule (``report_mismatch=False``): it is "not yet" until the record matches
        or ops resolve it."""
        if problem == self.run.payout.mismatch and self.run.record.payout_unknown:
            return
        self.run.payout.mismatch = problem
        await self.status.transition(
            Change(problem, payout_unknown=True, record="payout parked: record does not match")
        )

    async def set_unknown(self, unknown: bool, note: str) -> None:
        """Park the payout for ops (money held), or unpark it: the provider answered."""
        summary = "payout outcome unknown" if unknown else "payout outcome known"
        await self.status.transition(Change(note, payout_unknown=unknown, record=summary))

    async def _note_ignored_callback(self, callback: Transfer, looked: PayoutLookup) -> None:
        self.run.payout.callbacks_ignored += 1
        if self.run.payout.callbacks_ignored <= MAX_IGNORED_CALLBACK_NOTES:
            seen = looked.problem or (
                f"the provider says {looked.transfer.state.value}"
                if looked.transfer
                else "the provider knows no transfer"
            )
            await self.status.transition(
                Change(f"payout callback ({callback.state.value}) ignored: {seen}")
            )

    async def receive_callback(self, transfer: Transfer) -> None:
        """The provider's callback. Before PATCH_PAYOUT_CONFIRMED it was taken as the
        final word; since, it is only a hint that prompts a look-up at the provider, and
        is ignored (counted, a few noted) before the payout was submitted, when it says
        nothing final, or beyond ``MAX_PAYOUT_CALLBACKS_TAKEN``.

        A coroutine only to note through ``StatusRoom.transition``: a note without a record never
        suspends, and the SDK runs every signal handler, plain or async, as its own task,
        so the handler still completes at once, as it did when it was a plain function."""
        if transfer.idempotency_key != self.run.request.withdrawal_id:
            workflow.logger.warning("payout callback for another withdrawal ignored")
            return
        if self.run.payout.confirmed is False:
            self.accept_transfer(transfer)
            return
        why = callback_verdict(
            submitted=self.run.payout.submitted,
            final_state=transfer.state is not TransferState.PROCESSING,
            taken=self.run.payout.callbacks_taken,
            ended=self.run.record.status.is_final,
        )
        if why is not None:
            self.run.payout.callbacks_ignored += 1
            if self.run.payout.callbacks_ignored <= MAX_IGNORED_CALLBACK_NOTES:
                await self.status.transition(
                    Change(f"payout callback ({transfer.state.value}) ignored: {why}")
                )
            return
        self.run.payout.callbacks_taken += 1
        self.run.payout.callback_hint = transfer

    async def resolve(self, request: PayoutResolutionRequest) -> PayoutResolutionVerdict:
        """Ops end a payout whose outcome is unknown (authenticated by the caller; the
        activity checks the role, records the evidence, and counts two different
        reviewers before money is released)."""
        verdict: PayoutResolutionVerdict = await workflow.execute_activity_method(
            WithdrawalActivities.resolve_payout,
            request,
            **DATABASE,
            summary=f"record payout resolution ({request.outcome.value})",
        )
        if verdict.accepted and (
            self.run.payout.resolution is None or not self.run.payout.resolution.final
        ):
            await self.status.transition(Change(verdict.why, phase=Status.APPROVED_AWAITING_PAYOUT))
            if verdict.final:
                self.run.payout.resolution = verdict
        return verdict

    def validate_resolve(self, request: PayoutResolutionRequest) -> None:
        problem = request.problem()
        if problem is not None:
            raise ValueError(problem)
        if request.withdrawal_id != self.run.request.withdrawal_id:
            raise ValueError("withdrawal_id: this is another withdrawal")
        record = self.run.record
        if not resolution_open(payout_unknown=record.payout_unknown, final=record.status.is_final):
            raise ValueError(
                f"the withdrawal is {self.run.record.status.value} and its payout outcome is not "
                "unknown; there is nothing to resolve"
            )

    def accept_transfer(self, transfer: Transfer) -> None:
        if (
            self.run.payout.transfer is not None
            and self.run.payout.transfer.state is not TransferState.PROCESSING
        ):
            return
        self.run.payout.transfer = transfer

    async def start_return(self) -> None:
        """The return workflow, left running when this run closes; one already started
        (by the returned callback) is the same return, taken as done."""
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                RETURN_WORKFLOW_TYPE,
                ReturnNotice(withdrawal_id=self.run.request.withdrawal_id, source="withdrawal"),
                id=return_workflow_id(self.run.request.withdrawal_id),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary="the provider returned this payout",
            )
