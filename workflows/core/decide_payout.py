"""The payout phase of ``decide.step``: the submit's answer, looked-up and watched
records, callbacks (only hints), ops' resolutions of an unknown outcome, and a return
after success. What each decides is ``workflows.core.rules`` (``record_action``,
``settlement_of``, ``callback_verdict``, ``resolution_open``, ``not_paid_is_final``),
which ``PayoutRoom`` and ``WithdrawalWorkflow.run`` ask too."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from models.limits import MAX_IGNORED_CALLBACK_NOTES
from workflows.core import endings
from workflows.core.rules import (
    RecordAction,
    callback_verdict,
    not_paid_is_final,
    record_action,
    resolution_open,
    settlement_of,
)
from workflows.core.state import (
    CallbackArrived,
    Command,
    Core,
    CreditReturn,
    LookUp,
    Money,
    Note,
    Phase,
    PostHold,
    RecordLooked,
    RecordState,
    RecordStatus,
    ResolutionArrived,
    SubmitAnswered,
    WatchPayout,
)
from workflows.core.statuses import Turn, status_after


def submit_answered(core: Core, event: SubmitAnswered, now: datetime) -> tuple[Core, list[Command]]:
    if event.refused is not None:  # refused for good: nothing was sent
        return endings.end(core, Turn.SUBMIT_REFUSED, event.refused)
    if event.lost:  # an attempt may have reached the provider: look, never guess
        return replace(core, submit_lost=True, looking_up=True), [LookUp()]
    return on_record(core, event.state, event.problem)


def looked(core: Core, event: RecordLooked, now: datetime) -> tuple[Core, list[Command]]:
    core = replace(core, watching=False, looking_up=False)
    if event.state is None and event.problem is None and not core.payout_unknown:
        core = replace(core, payout_unknown=True, held_for="payout outcome unknown")
        status = status_after(core.status, Turn.PAYOUT_UNKNOWN)
        return watch(core, [RecordStatus(status, "payout outcome unknown")])
    return on_record(core, event.state, event.problem)


def on_record(
    core: Core, state: RecordState | None, problem: str | None
) -> tuple[Core, list[Command]]:
    action = record_action(state, problem)
    if action is RecordAction.PARK:
        commands: list[Command] = []
        if problem != core.mismatch or not core.payout_unknown:
            status = status_after(core.status, Turn.PAYOUT_PARKED)
            commands.append(RecordStatus(status, "payout parked: record does not match"))
        core = replace(
            core, mismatch=problem, payout_unknown=True, held_for="waiting on ops: mismatch"
        )
        return watch(core, commands)
    if core.mismatch is not None and action is RecordAction.WAIT and state is not None:
        # review finding 2: parked on a mismatch until a final matching record
        return watch(core, [])
    if action is RecordAction.WAIT:
        commands = []
        if core.payout_unknown and state is not None:
            status = status_after(core.status, Turn.OUTCOME_KNOWN)
            commands.append(RecordStatus(status, "payout outcome known"))
            core = replace(core, payout_unknown=False, mismatch=None, held_for="at the provider")
        return watch(core, commands)
    assert state is not None
    return settle(core, state, reference=None, why=f"the provider says {state.value}")


def watch(core: Core, commands: list[Command]) -> tuple[Core, list[Command]]:
    """``commands``, then a watch unless one is running (it goes on until it answers)."""
    if core.watching:
        return core, commands
    watch = WatchPayout(
        until_final=not core.payout_unknown or core.mismatch is not None,
        report_mismatch=not core.payout_unknown,
    )
    return replace(core, watching=True), [*commands, watch]


def settle(
    core: Core, state: RecordState, *, reference: str | None, why: str
) -> tuple[Core, list[Command]]:
    if settlement_of(state) is Money.RELEASED:
        return endings.end(core, Turn.PAYOUT_FAILED, why)
    core = replace(
        core,
        phase=Phase.ENDED,
        money=Money.POSTED,
        held_for="",
        status=status_after(core.status, Turn.PAID),
        posted_on=state,
        decisions_waiting=(),
    )
    commands: list[Command] = [PostHold(why, reference), RecordStatus(core.status, why)]
    if state is RecordState.RETURNED:  # paid, then returned: post, then credit it back
        returned = credit_return(core)
        return returned[0], [*commands, *returned[1]]
    return core, commands


def credit_return(core: Core) -> tuple[Core, list[Command]]:
    # the return workflow records the status (``workflows/withdrawal_return.py``)
    core = replace(core, money=Money.RETURNED, status=status_after(core.status, Turn.RETURNED))
    return core, [CreditReturn("the provider returned the payout")]


def callback(core: Core, event: CallbackArrived, now: datetime) -> tuple[Core, list[Command]]:
    if not event.for_this_withdrawal:
        return endings.refused(core)
    ignored = callback_verdict(
        submitted=core.submitted,
        final_state=event.state is not RecordState.PROCESSING,
        taken=core.callbacks_taken,
        ended=core.phase is Phase.ENDED,
    )
    if ignored is not None or core.looking_up:
        core = replace(core, callbacks_ignored=core.callbacks_ignored + 1)
        noted = core.callbacks_ignored <= MAX_IGNORED_CALLBACK_NOTES
        return core, [Note(f"payout callback ignored: {ignored}")] if noted else []
    core = replace(core, callbacks_taken=core.callbacks_taken + 1, looking_up=True)
    return core, [LookUp()]


def resolution(core: Core, event: ResolutionArrived, now: datetime) -> tuple[Core, list[Command]]:
    """Ops' word on an unknown outcome: ``--paid`` by an authorised person posts;
    ``--not-paid`` releases only when two different people said it and the provider
    holds no matching transfer."""
    heard = resolution_open(payout_unknown=core.payout_unknown, final=core.phase is Phase.ENDED)
    if not heard or not event.authorised:
        return endings.refused(core)
    if event.paid:
        core = replace(core, paid_by_ops=True)
        return settle(core, RecordState.SUCCEEDED, reference=event.reference, why="paid (ops)")
    if event.provider_holds_match:
        return core, [Note("not paid refused: the provider holds a matching transfer")]
    core = replace(core, not_paid_by=core.not_paid_by | {event.identity})
    if not not_paid_is_final(core.not_paid_by):
        return core, [Note("not paid: waiting for a second person")]
    why = "payout not made, as confirmed by ops (R19: money released)"
    return endings.end(core, Turn.NOT_PAID, why)


def returned_after_success(
    core: Core, event: RecordLooked, now: datetime
) -> tuple[Core, list[Command]]:
    """The return workflow: a matching ``returned`` record credits a posted hold once."""
    if core.money is not Money.POSTED or event.problem or event.state is not RecordState.RETURNED:
        return core, []
    return credit_return(core)
