"""One simulated run: fold steps over a ``World``, run the core's commands on the
in-memory ledger and provider, check every invariant after every step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from simulation import invariants
from simulation.world import Crash, Deliver, ProviderSet, Step, World
from workflows.core import decide
from workflows.core.state import (
    Command,
    Core,
    CreditReturn,
    DecisionArrived,
    Event,
    Money,
    Opened,
    Phase,
    PostHold,
    Proof,
    RecordState,
    ReleaseHold,
    ResolutionArrived,
    StartTimer,
    SubmitPayout,
    TimerFired,
)

StepFunction = Callable[[Core, Event, datetime], tuple[Core, list[Command]]]
IN_FLIGHT_KINDS = ("SendCode", "SubmitPayout", "WatchPayout", "LookUp")


@dataclass(frozen=True)
class Violation:
    index: int  # the step after which it was found
    names: tuple[str, ...]


def apply(world: World, step: Step, step_function: StepFunction) -> list[str]:
    """Apply one step; the invariants it breaks."""
    before = world.core
    if isinstance(step, ProviderSet):
        world.set_provider(step.record)
    elif isinstance(step, Crash):
        if _replayed(world, step_function) != world.core:
            return [invariants.REPLAYS]
    else:
        _deliver(world, step, step_function)
    return invariants.broken(world, before)


def _replayed(world: World, step_function: StepFunction) -> Core:
    core = Core(withdrawal_id=world.core.withdrawal_id)
    for delivered in world.delivered:
        core, _ = step_function(core, delivered.event, delivered.at)
    return core


def _deliver(world: World, delivery: Deliver, step_function: StepFunction) -> None:
    event = delivery.event
    if delivery.answers is not None:
        world.in_flight[delivery.answers] = world.in_flight.get(delivery.answers, 0) - 1
    if isinstance(event, TimerFired):
        world.timers.pop(event.name, None)
    if isinstance(event, DecisionArrived):
        _verify(world, event)
    if isinstance(event, Opened) and world.core.phase is Phase.OPENING:
        world.ledger.hold = Money.HELD  # ``open_withdrawal`` froze the amount
    world.core, commands = step_function(world.core, event, delivery.at)
    world.delivered.append(delivery)
    world.last_commands = commands
    for command in commands:
        _run(world, command, event)


def _verify(world: World, event: DecisionArrived) -> None:
    """The truth the review is checked against: a valid proof verifies the approval it
    was signed for, and only that one (a replayed nonce under another person or decision
    verifies nothing), whenever it arrives (one received before the review began waits
    to be weighed when it begins)."""
    if event.proof is not Proof.VALID:
        return
    signed = world.proof_signers.setdefault(event.nonce, (event.identity, event.approve))
    if signed == (event.identity, True) and event.role_allowed:
        world.verified_approvers.add(event.identity)


def _run(world: World, command: Command, cause: Event) -> None:
    kind = type(command).__name__
    ledger = world.ledger
    if kind in IN_FLIGHT_KINDS:
        world.in_flight[kind] = world.in_flight.get(kind, 0) + 1
    if isinstance(command, SubmitPayout):
        world.submit_keys.add(command.key)
    elif isinstance(command, StartTimer):
        world.timers[command.name] = command.at
    elif isinstance(command, PostHold):
        record = world.provider
        on_record = (
            record is not None
            and record.problem is None
            and record.state in (RecordState.SUCCEEDED, RecordState.RETURNED)
        )
        by_ops = isinstance(cause, ResolutionArrived) and cause.paid and cause.authorised
        world.post_justified = _still(
            world.post_justified, ledger.hold is Money.HELD and (on_record or by_ops)
        )
        ledger.posts += 1
        ledger.hold = Money.POSTED
    elif isinstance(command, ReleaseHold):
        world.release_justified = _still(
            world.release_justified, ledger.hold is Money.HELD and _release_allowed(world, cause)
        )
        ledger.releases += 1
        ledger.hold = Money.RELEASED
    elif isinstance(command, CreditReturn):
        record = world.provider
        returned = (
            record is not None and record.problem is None and record.state is RecordState.RETURNED
        )
        world.return_justified = _still(
            world.return_justified, ledger.hold is Money.POSTED and returned
        )
        ledger.returns += 1
        ledger.hold = Money.RETURNED


def _still(so_far: bool | None, now: bool) -> bool:
    return now if so_far is None else so_far and now


def _release_allowed(world: World, cause: Event) -> bool:
    """No matching transfer that moved or may move the money; and nothing submitted,
    or the provider says failed or knows none, or two people said --not-paid."""
    record = world.provider
    if record is not None and record.money_left:
        return False
    if not world.core.submitted or record is None:
        return True
    if record.problem is None and record.state is RecordState.FAILED:
        return True
    if not isinstance(cause, ResolutionArrived):
        return False
    return cause.authorised and len(world.core.not_paid_by) >= 2


def replay(steps: Sequence[Step], step_function: StepFunction = decide.step) -> Violation | None:
    """Fold ``steps`` from a fresh world; the first violation, if any."""
    world = World.start()
    for index, step in enumerate(steps):
        names = apply(world, step, step_function)
        if names:
            return Violation(index, tuple(dict.fromkeys(names)))
    return None


def shrink(
    steps: Sequence[Step], step_function: StepFunction = decide.step
) -> tuple[list[Step], Violation]:
    """The shortest failing sequence found by dropping steps one at a time (greedy)."""
    found = replay(steps, step_function)
    assert found is not None
    kept = list(steps[: found.index + 1])
    wanted = set(found.names)
    changed = True
    while changed:
        changed = False
        for position in range(len(kept) - 1, -1, -1):
            candidate = kept[:position] + kept[position + 1 :]
            again = replay(candidate, step_function)
            if again is not None and wanted & set(again.names):
                kept, found, changed = candidate[: again.index + 1], again, True
                break
    return kept, found
