"""The withdrawal's decisions: ``step(state, event, now) -> (state, commands)``.

Pure (no Temporal, no I/O, no clock but ``now``). The decisions that ``step`` is made
of are the ones the workflow's rooms ask too, so the shell and the simulator share them:
``rules`` (``code_step``, ``callback_verdict``, ``record_action``, ``settlement_of``,
``not_paid_is_final``), ``review`` (``admission_problem``, ``weigh``,
``authorisation_problem``, ``sla_passed``) and ``cancel`` (``gate_problem``,
``signed_problem``, ``verdict_of``, ``refusal_counted``).
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
    REVIEW_SLA_HOURS,
)
from workflows.core import cancel as core_cancel
from workflows.core import decide_payout, endings
from workflows.core import review as core_review
from workflows.core.history import HANDLER_COST, HISTORY_COST, INPUT_COST
from workflows.core.rules import (
    CODE_ENDINGS,
    CodeStep,
    code_step,
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
    DecisionArrived,
    Event,
    Money,
    Note,
    Opened,
    OpenRefused,
    Phase,
    Proof,
    RecordLooked,
    RecordStatus,
    ResolutionArrived,
    SendCode,
    StartTimer,
    SubmitAnswered,
    SubmitPayout,
    TimerFired,
    WeighDecision,
)
from workflows.core.statuses import Turn, status_after

CODE_EXPIRY = "code_expiry"
REVIEW_SLA = "review_sla"
ARRIVAL = "arrival"
TIMERS = (CODE_EXPIRY, REVIEW_SLA, ARRIVAL)
ARRIVAL_DAYS = 15  # R9's longest expected arrival, for the model's arrival timer


# ---- the step ----------------------------------------------------------------------
def step(core: Core, event: Event, now: datetime) -> tuple[Core, list[Command]]:
    """The next state and the commands to run. Every event is accepted in every state:
    one that does not apply is refused at a constant cost and changes nothing else."""
    outside = isinstance(event, OUTSIDE_INPUTS)
    if outside:
        core = replace(core, outside_inputs=core.outside_inputs + 1)
    refused_before = core.refused_inputs
    handler = _HANDLERS.get((core.phase, type(event))) or _HANDLERS.get((None, type(event)))
    if handler is None:
        core, commands = endings.refused(core) if outside else (core, [])
    else:
        core, commands = handler(core, event, now)
    cost = sum(HISTORY_COST[type(c)] for c in commands)
    if outside:
        taken = core.refused_inputs == refused_before
        cost += INPUT_COST + (HANDLER_COST.get(type(event), 0) if taken else 0)
    return replace(core, history=core.history + cost), commands


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
    status = status_after(core.status, Turn.OPEN_REFUSED)
    core = replace(core, phase=Phase.ENDED, money=Money.NOT_FROZEN, held_for="")
    core = replace(core, status=status, reason=event.why, decisions_waiting=())
    return core, [RecordStatus(status, event.why)]


def _code_sent(core: Core, event: CodeSent, now: datetime) -> tuple[Core, list[Command]]:
    status = status_after(core.status, Turn.CODE_SENT)
    core = replace(core, code_expires_at=event.expires_at, status=status)
    return core, [
        RecordStatus(status, "code sent"),
        StartTimer(CODE_EXPIRY, event.expires_at),
    ]


def _code_not_sent(core: Core, event: CodeNotSent, now: datetime) -> tuple[Core, list[Command]]:
    return endings.end(core, Turn.CODE_NOT_SENT, "R15: the verification code could not be sent")


def _code_checked(core: Core, event: CodeChecked, now: datetime) -> tuple[Core, list[Command]]:
    if core.code_expires_at is None:
        return endings.refused(core)
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
        return endings.end(core, Turn.CANCELLED, "cancelled by the user")
    if next_step is not CodeStep.VERIFIED:
        return endings.end(core, Turn.CODE_ENDED, CODE_ENDINGS[next_step])
    if core.review_required:
        return _begin_review(core, now)
    return _submit_if_authorised(core, now)


def _begin_review(core: Core, now: datetime) -> tuple[Core, list[Command]]:
    """``ReviewRoom.await_review``: the status says under review, then the decisions
    queued before the review began are weighed in the order they came; the SLA timer
    starts only if they did not decide the review."""
    status = status_after(core.status, Turn.REVIEW_STARTED)
    sla = now + timedelta(hours=REVIEW_SLA_HOURS)
    core = replace(core, phase=Phase.REVIEW, held_for="in review", status=status)
    core = replace(core, review_deadline=sla)
    commands: list[Command] = [RecordStatus(status, "review")]
    while core.phase is Phase.REVIEW and core.decisions_waiting:
        first, *rest = core.decisions_waiting
        core, weighed = _weigh(replace(core, decisions_waiting=tuple(rest)), first, now)
        commands.extend(weighed)
    if core.phase is Phase.REVIEW:
        commands.append(StartTimer(REVIEW_SLA, sla))
    return core, commands


def _timer(core: Core, event: TimerFired, now: datetime) -> tuple[Core, list[Command]]:
    if core.phase is Phase.CODE and event.name == CODE_EXPIRY and core.code_expires_at:
        return _after_code(core, verified=False, cancelled=False, now=now)
    if (
        core.phase is Phase.REVIEW
        and event.name == REVIEW_SLA
        and core.review_deadline is not None
        and core_review.sla_passed(
            overdue=core.review_overdue, deadline=core.review_deadline, now=now
        )
    ):
        status = status_after(core.status, Turn.REVIEW_OVERDUE)
        return replace(core, review_overdue=True), [RecordStatus(status, "review overdue")]
    if core.phase is Phase.PAYOUT and event.name == ARRIVAL and not core.arrival_flagged:
        return replace(core, arrival_flagged=True), [Note("expected arrival has passed")]
    return core, []


def _cancel(core: Core, event: CancelArrived, now: datetime) -> tuple[Core, list[Command]]:
    """R2/R18 (``workflows.core.cancel``, as ``CancelRoom`` asks it): an authorised
    cancel before the payout was sent ends the withdrawal. A signed cancel's proof is
    spent once, and a person whose signed cancels were refused
    ``MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON`` times is refused without asking (review
    finding 3)."""
    gate = core_cancel.gate_problem(final=None, sent=core.submitted, under_way=False, refusals=0)
    if gate is not None:  # the validator's first word: nothing else is looked at
        return endings.refused(core)
    if event.nonce is not None:
        problem = core_cancel.signed_problem(
            nonce=event.nonce,
            seen=core.nonces_seen,
            refused=core.signed_cancels_refused.count(event.by),
        )
        if problem is not None:
            return endings.refused(core)
        core = replace(core, nonces_seen=core.nonces_seen | {event.nonce})
    verdict = core_cancel.verdict_of(allowed=event.authorised, sent=core.submitted)
    if verdict is not core_cancel.CancelVerdict.ACCEPTED:
        counted = core_cancel.refusal_counted(
            verified_here=True, signed=event.nonce is not None, capped=True
        )
        if counted is core_cancel.RefusalCounted.TOWARDS_PERSON:
            core = replace(core, signed_cancels_refused=(*core.signed_cancels_refused, event.by))
        return endings.refused(core)
    return endings.end(core, Turn.CANCELLED, f"cancelled by {event.by}")


def _decision(core: Core, event: DecisionArrived, now: datetime) -> tuple[Core, list[Command]]:
    """R17 (``workflows.core.review``, as ``ReviewRoom.receive`` asks it): only a verified
    proof, used once, with room (in the queue and in the verified count) is taken. In
    review it is weighed at once; before the review began (or after it ended) it waits
    in the queue, as the signal handler's inbox does, and costs only its signal."""
    problem = None if event.proof is Proof.VALID else f"proof {event.proof.value}"
    problem = problem or core_review.admission_problem(
        nonce=event.nonce,
        seen=core.nonces_seen,
        waiting=len(core.decisions_waiting),
        accepted=core.proofs_accepted,
    )
    if problem is not None:
        return endings.refused(core)
    core = replace(
        core,
        nonces_seen=core.nonces_seen | {event.nonce},
        proofs_accepted=core.proofs_accepted + 1,
    )
    if core.phase is not Phase.REVIEW:
        return replace(core, decisions_waiting=(*core.decisions_waiting, event)), []
    return _weigh(core, event, now)


def _weigh(core: Core, event: DecisionArrived, now: datetime) -> tuple[Core, list[Command]]:
    """``ReviewRoom._consider``: the ``review_decision`` activity's verdict
    (``models.authority``: a role that may decide, not an applicant, and, by ``weigh``'s
    count, each person once); an approval counts once per person, never the applicant's
    own; money moves only once the invariant holds."""
    allowed = event.role_allowed and event.identity not in core.applicants
    tally, weighed = core_review.weigh(
        _tally(core),
        approve=event.approve,
        allowed=allowed,
        reviewer=event.identity,
        person=event.identity,
    )
    core = replace(core, approvers=tally.approvers)
    activity = WeighDecision(event.identity, event.approve)
    if weighed is core_review.Weighed.IGNORED:
        return core, [activity, Note("decision ignored: this reviewer may not decide it")]
    if weighed is core_review.Weighed.REJECTED:
        core, ending = endings.end(core, Turn.REJECTED, f"rejected by {event.identity}")
        return core, [activity, *ending]
    if weighed is core_review.Weighed.SHORT:
        return core, [activity, Note("approval counted")]
    core, submitted = _submit_if_authorised(core, now)
    return core, [activity, *submitted]


def _tally(core: Core) -> core_review.Tally:
    """The review as counted; in the core a reviewer is the person it names."""
    return core_review.Tally(
        required=core.approvals_required,
        applicants=core.applicants,
        approvers=core.approvers,
        people=core.approvers,
    )


def _submit_if_authorised(core: Core, now: datetime) -> tuple[Core, list[Command]]:
    """``ReviewRoom.check_authorised``: a broken review invariant releases the money
    (R19) and ends the run; nothing is sent."""
    problem = core_review.authorisation_problem(_tally(core), reviewed=core.review_required)
    if problem is not None:
        return endings.end(
            core, Turn.REVIEW_INVARIANT_BROKEN, f"review invariant broken: {problem}"
        )
    return _submit(core, now)


def _submit(core: Core, now: datetime) -> tuple[Core, list[Command]]:
    core = replace(
        core,
        phase=Phase.PAYOUT,
        submitted=True,
        held_for="at the provider",
        status=status_after(core.status, Turn.PAYING_OUT),
    )
    arrival = now + timedelta(days=ARRIVAL_DAYS)
    return core, [
        RecordStatus(core.status, "approved, paying out"),
        SubmitPayout(core.withdrawal_id),
        StartTimer(ARRIVAL, arrival),
    ]


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
    (Phase.OPENING, DecisionArrived): _decision,
    (Phase.CODE, DecisionArrived): _decision,
    (Phase.REVIEW, DecisionArrived): _decision,
    (Phase.PAYOUT, DecisionArrived): _decision,
    (Phase.PAYOUT, SubmitAnswered): decide_payout.submit_answered,
    (Phase.PAYOUT, RecordLooked): decide_payout.looked,
    (Phase.ENDED, RecordLooked): decide_payout.returned_after_success,
    (Phase.PAYOUT, ResolutionArrived): decide_payout.resolution,
    (None, TimerFired): _timer,
    (None, CallbackArrived): decide_payout.callback,
}
