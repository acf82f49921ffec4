"""The withdrawal's decisions: ``step(state, event, now) -> (state, commands)``.

Pure (no Temporal, no I/O, no clock but ``now``). The small decisions that ``step`` is
made of (``code_step``, ``callback_verdict``, ``record_action``, ``settlement_of``) are
the ones the workflow's rooms ask too, so the shell and the simulator share them.
Rules cited where they are decided; the invariants they keep are checked by
``simulation/invariants.py`` after every step of every seeded run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from models.limits import (
    MAX_CODE_ATTEMPTS,
    MAX_IGNORED_CALLBACK_NOTES,
    MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON,
    REVIEW_SLA_HOURS,
)
from workflows.core.rules import (
    CODE_ENDINGS,
    CodeStep,
    RecordAction,
    callback_verdict,
    code_step,
    not_paid_is_final,
    record_action,
    settlement_of,
)
from workflows.core.state import (
    OUTSIDE_INPUTS,
    CallbackArrived,
    CancelArrived,
    CodeChecked,
    CodeNotSent,
    CodeSent,
    Command,
    Core,
    CreditReturn,
    DecisionArrived,
    Event,
    LookUp,
    Money,
    Note,
    Opened,
    OpenRefused,
    Phase,
    PostHold,
    Proof,
    RecordLooked,
    RecordState,
    RecordStatus,
    ReleaseHold,
    ResolutionArrived,
    SendCode,
    StartTimer,
    SubmitAnswered,
    SubmitPayout,
    TimerFired,
    WatchPayout,
)

CODE_EXPIRY = "code_expiry"
REVIEW_SLA = "review_sla"
ARRIVAL = "arrival"
TIMERS = (CODE_EXPIRY, REVIEW_SLA, ARRIVAL)
ARRIVAL_DAYS = 15  # R9's longest expected arrival, for the model's arrival timer

# History events each command or input costs (measured on the time-skipping server,
# docs/money-at-the-edges.md): an activity is scheduled, started and completed in its
# own workflow task; a recorded status is a local-activity marker; a signal or update
# takes a task of its own; the bound is a + c·(outside inputs) with a = 150, c = 12.
HISTORY_COST: dict[type, int] = {
    SendCode: 6,
    StartTimer: 3,
    RecordStatus: 4,
    Note: 0,
    SubmitPayout: 6,
    WatchPayout: 6,
    LookUp: 6,
    PostHold: 6,
    ReleaseHold: 6,
    CreditReturn: 0,  # the separate return workflow's history, not this run's
}
INPUT_COST = 3  # a signal or update: its event and a workflow task
HISTORY_BOUND_BASE = 150
HISTORY_BOUND_PER_INPUT = 12
REFUSED_INPUT_MAX_COST = INPUT_COST  # a refused input: no activity, no timer, no record


# ---- the step ----------------------------------------------------------------------
def step(core: Core, event: Event, now: datetime) -> tuple[Core, list[Command]]:
    """The next state and the commands to run. Every event is accepted in every state:
    one that does not apply is refused at a constant cost and changes nothing else."""
    outside = isinstance(event, OUTSIDE_INPUTS)
    if outside:
        core = replace(core, outside_inputs=core.outside_inputs + 1)
    handler = _HANDLERS.get((core.phase, type(event))) or _HANDLERS.get((None, type(event)))
    if handler is None:
        core, commands = _refused(core) if outside else (core, [])
    else:
        core, commands = handler(core, event, now)
    cost = (INPUT_COST if outside else 0) + sum(HISTORY_COST[type(c)] for c in commands)
    return replace(core, history=core.history + cost), commands


def _refused(core: Core) -> tuple[Core, list[Command]]:
    return replace(core, refused_inputs=core.refused_inputs + 1), []


def _end(core: Core, status: str, why: str) -> tuple[Core, list[Command]]:
    """R19: every way out releases a held hold (only success posts, in ``_settle``)."""
    release: list[Command] = [ReleaseHold(why)] if core.money is Money.HELD else []
    money = Money.RELEASED if core.money is Money.HELD else core.money
    ended = replace(core, phase=Phase.ENDED, money=money, held_for="", status=status, reason=why)
    return ended, [*release, RecordStatus(status, why)]


def _opened(core: Core, event: Opened, now: datetime) -> tuple[Core, list[Command]]:
    core = replace(
        core,
        phase=Phase.CODE,
        money=Money.HELD,
        held_for="awaiting the verification code",
        review_required=event.review_required,
        approvals_required=event.approvals_required,
        applicants=event.applicants,
        code_attempts_left=MAX_CODE_ATTEMPTS,
    )
    return core, [SendCode()]


def _open_refused(core: Core, event: OpenRefused, now: datetime) -> tuple[Core, list[Command]]:
    core = replace(core, phase=Phase.ENDED, money=Money.NOT_FROZEN, held_for="")
    return replace(core, status="failed", reason=event.why), [RecordStatus("failed", event.why)]


def _code_sent(core: Core, event: CodeSent, now: datetime) -> tuple[Core, list[Command]]:
    core = replace(core, code_expires_at=event.expires_at, status="awaiting_code")
    return core, [
        RecordStatus("awaiting_code", "code sent"),
        StartTimer(CODE_EXPIRY, event.expires_at),
    ]


def _code_not_sent(core: Core, event: CodeNotSent, now: datetime) -> tuple[Core, list[Command]]:
    return _end(core, "failed", "R15: the verification code could not be sent")


def _code_checked(core: Core, event: CodeChecked, now: datetime) -> tuple[Core, list[Command]]:
    if core.code_expires_at is None:
        return _refused(core)
    left = core.code_attempts_left - (0 if event.right else 1)
    core = replace(core, code_attempts_left=left)
    return _after_code(core, verified=event.right, cancelled=False, now=now)


def _after_code(
    core: Core, *, verified: bool, cancelled: bool, now: datetime
) -> tuple[Core, list[Command]]:
    assert core.code_expires_at is not None
    next_step = code_step(
        verified=verified,
        cancelled=cancelled,
        attempts_left=core.code_attempts_left,
        expires_at=core.code_expires_at,
        now=now,
    )
    if next_step is CodeStep.WAIT:
        return core, []
    if next_step is CodeStep.CANCELLED:
        return _end(core, "cancelled", "cancelled by the user")
    if next_step is not CodeStep.VERIFIED:
        return _end(core, "cancelled", CODE_ENDINGS[next_step])
    if core.review_required:
        core = replace(core, phase=Phase.REVIEW, held_for="in review", status="under_review")
        sla = now + timedelta(hours=REVIEW_SLA_HOURS)
        return core, [RecordStatus("under_review", "review"), StartTimer(REVIEW_SLA, sla)]
    return _submit(core, now)


def _timer(core: Core, event: TimerFired, now: datetime) -> tuple[Core, list[Command]]:
    if core.phase is Phase.CODE and event.name == CODE_EXPIRY and core.code_expires_at:
        return _after_code(core, verified=False, cancelled=False, now=now)
    if core.phase is Phase.REVIEW and event.name == REVIEW_SLA and not core.review_overdue:
        return replace(core, review_overdue=True), [RecordStatus(core.status, "review overdue")]
    if core.phase is Phase.PAYOUT and event.name == ARRIVAL and not core.arrival_flagged:
        return replace(core, arrival_flagged=True), [Note("expected arrival has passed")]
    return core, []


def _cancel(core: Core, event: CancelArrived, now: datetime) -> tuple[Core, list[Command]]:
    """R2/R18: an authorised cancel before the payout was sent ends the withdrawal. A
    signed cancel's proof is spent once, and a person whose signed cancels were refused
    ``MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON`` times is refused without asking (review
    finding 3)."""
    if core.submitted:  # the validator's first word: nothing else is looked at
        return _refused(core)
    if event.nonce is not None:
        used_up = (
            core.signed_cancels_refused.count(event.by) >= MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON
        )
        if event.nonce in core.nonces_seen or used_up:
            return _refused(core)
        core = replace(core, nonces_seen=core.nonces_seen | {event.nonce})
        if not event.authorised:
            core = replace(core, signed_cancels_refused=(*core.signed_cancels_refused, event.by))
    if not event.authorised:
        return _refused(core)
    return _end(core, "cancelled", f"cancelled by {event.by}")


def _decision(core: Core, event: DecisionArrived, now: datetime) -> tuple[Core, list[Command]]:
    """R17: only a verified proof, used once, of a person who may decide counts; an
    approval counts once per person, and never the applicant's own."""
    if event.proof is not Proof.VALID or event.nonce in core.nonces_seen:
        return _refused(core)
    core = replace(core, nonces_seen=core.nonces_seen | {event.nonce})
    if not event.role_allowed or event.identity in core.applicants:
        return core, [Note("decision ignored: this reviewer may not decide it")]
    if not event.approve:
        return _end(core, "rejected", f"rejected by {event.identity}")
    if event.identity not in core.approvers:
        core = replace(core, approvers=(*core.approvers, event.identity))
    if len(core.approvers) < core.approvals_required:
        return core, [Note("approval counted")]
    return _submit(core, now)


def _submit(core: Core, now: datetime) -> tuple[Core, list[Command]]:
    core = replace(
        core,
        phase=Phase.PAYOUT,
        submitted=True,
        held_for="at the provider",
        status="approved_awaiting_payout",
    )
    arrival = now + timedelta(days=ARRIVAL_DAYS)
    return core, [
        RecordStatus(core.status, "approved, paying out"),
        SubmitPayout(core.withdrawal_id),
        StartTimer(ARRIVAL, arrival),
    ]


def _submit_answered(
    core: Core, event: SubmitAnswered, now: datetime
) -> tuple[Core, list[Command]]:
    if event.refused is not None:  # refused for good: nothing was sent
        return _end(core, "failed", event.refused)
    if event.lost:  # an attempt may have reached the provider: look, never guess
        return replace(core, submit_lost=True, looking_up=True), [LookUp()]
    return _on_record(core, event.state, event.problem)


def _looked(core: Core, event: RecordLooked, now: datetime) -> tuple[Core, list[Command]]:
    core = replace(core, watching=False, looking_up=False)
    if event.state is None and event.problem is None and not core.payout_unknown:
        core = replace(core, payout_unknown=True, held_for="payout outcome unknown")
        return _watch(core, [RecordStatus(core.status, "payout outcome unknown")])
    return _on_record(core, event.state, event.problem)


def _on_record(
    core: Core, state: RecordState | None, problem: str | None
) -> tuple[Core, list[Command]]:
    action = record_action(state, problem)
    if action is RecordAction.PARK:
        commands: list[Command] = []
        if problem != core.mismatch or not core.payout_unknown:
            commands.append(RecordStatus(core.status, "payout parked: record does not match"))
        core = replace(
            core, mismatch=problem, payout_unknown=True, held_for="waiting on ops: mismatch"
        )
        return _watch(core, commands)
    if core.mismatch is not None and action is RecordAction.WAIT and state is not None:
        # review finding 2: parked on a mismatch until a final matching record
        return _watch(core, [])
    if action is RecordAction.WAIT:
        commands = []
        if core.payout_unknown and state is not None:
            commands.append(RecordStatus(core.status, "payout outcome known"))
            core = replace(core, payout_unknown=False, mismatch=None, held_for="at the provider")
        return _watch(core, commands)
    assert state is not None
    return _settle(core, state, reference=None, why=f"the provider says {state.value}")


def _watch(core: Core, commands: list[Command]) -> tuple[Core, list[Command]]:
    """``commands``, then a watch unless one is running (it goes on until it answers)."""
    if core.watching:
        return core, commands
    watch = WatchPayout(
        until_final=not core.payout_unknown or core.mismatch is not None,
        report_mismatch=not core.payout_unknown,
    )
    return replace(core, watching=True), [*commands, watch]


def _settle(
    core: Core, state: RecordState, *, reference: str | None, why: str
) -> tuple[Core, list[Command]]:
    if settlement_of(state) is Money.RELEASED:
        return _end(core, "failed", why)
    core = replace(
        core,
        phase=Phase.ENDED,
        money=Money.POSTED,
        held_for="",
        status="succeeded",
        posted_on=state,
    )
    commands: list[Command] = [PostHold(why, reference), RecordStatus("succeeded", why)]
    if state is RecordState.RETURNED:  # paid, then returned: post, then credit it back
        returned = _credit_return(core)
        return returned[0], [*commands, *returned[1]]
    return core, commands


def _credit_return(core: Core) -> tuple[Core, list[Command]]:
    core = replace(core, money=Money.RETURNED, status="returned")
    return core, [CreditReturn("the provider returned the payout")]


def _callback(core: Core, event: CallbackArrived, now: datetime) -> tuple[Core, list[Command]]:
    if not event.for_this_withdrawal:
        return _refused(core)
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


def _resolution(core: Core, event: ResolutionArrived, now: datetime) -> tuple[Core, list[Command]]:
    """Ops' word on an unknown outcome: ``--paid`` by an authorised person posts;
    ``--not-paid`` releases only when two different people said it and the provider
    holds no matching transfer."""
    if not core.payout_unknown or not event.authorised:
        return _refused(core)
    if event.paid:
        core = replace(core, paid_by_ops=True)
        return _settle(core, RecordState.SUCCEEDED, reference=event.reference, why="paid (ops)")
    if event.provider_holds_match:
        return core, [Note("not paid refused: the provider holds a matching transfer")]
    core = replace(core, not_paid_by=core.not_paid_by | {event.identity})
    if not not_paid_is_final(core.not_paid_by):
        return core, [Note("not paid: waiting for a second person")]
    return _end(core, "failed", "payout not made, as confirmed by ops (R19: money released)")


def _returned_after_success(
    core: Core, event: RecordLooked, now: datetime
) -> tuple[Core, list[Command]]:
    """The return workflow: a matching ``returned`` record credits a posted hold once."""
    if core.money is not Money.POSTED or event.problem or event.state is not RecordState.RETURNED:
        return core, []
    return _credit_return(core)


Handler = Callable[[Core, Any, datetime], tuple[Core, list[Command]]]
_HANDLERS: dict[tuple[Phase | None, type], Handler] = {
    (Phase.OPENING, Opened): _opened,
    (Phase.OPENING, OpenRefused): _open_refused,
    (Phase.CODE, CodeSent): _code_sent,
    (Phase.CODE, CodeNotSent): _code_not_sent,
    (Phase.CODE, CodeChecked): _code_checked,
    (Phase.CODE, CancelArrived): _cancel,
    (Phase.REVIEW, CancelArrived): _cancel,
    (Phase.PAYOUT, CancelArrived): _cancel,
    (Phase.REVIEW, DecisionArrived): _decision,
    (Phase.PAYOUT, SubmitAnswered): _submit_answered,
    (Phase.PAYOUT, RecordLooked): _looked,
    (Phase.ENDED, RecordLooked): _returned_after_success,
    (Phase.PAYOUT, ResolutionArrived): _resolution,
    (None, TimerFired): _timer,
    (None, CallbackArrived): _callback,
}
