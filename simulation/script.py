"""Seeded scripts: what can happen next to one withdrawal, chosen at random.

Provider answers (accepted, refused, processing for days, succeeded, failed, no record,
records that do not match in key, amount, route or payee, returned after success),
submit answers lost or duplicated, callbacks lost (never sent), late, duplicated, out of
order or lying, decisions valid, forged, stale, misdirected, replayed or from the same
person twice, floods of signed decisions before the review (queued, weighed when it
begins) or where no review comes, cancels by everyone, ops resolutions early and late,
by one and two people, every timer, and crashes between any two steps.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from models.domain import Route
from models.money import Money as Amount
from simulation.engine import StepFunction, Violation, apply
from simulation.world import Crash, Deliver, ProviderRecord, ProviderSet, Step, World
from workflows.core import decide
from workflows.core.state import (
    CallbackArrived,
    CancelArrived,
    CodeChecked,
    CodeNotSent,
    CodeSent,
    DecisionArrived,
    Event,
    Opened,
    OpenRefused,
    Phase,
    Proof,
    RecordLooked,
    RecordState,
    ResolutionArrived,
    SubmitAnswered,
    TimerFired,
    WatchPayout,
)

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAX_STEPS = 60
FLOOD_STEPS = 40  # more steps for a run whose reviewers flood it with signed decisions
STEPS_AFTER_THE_END = 4  # late inputs and returns after a run ended
APPLICANT = "applicant"
PEOPLE = (APPLICANT, "master", "rev-a", "rev-b", "ops-1", "ops-2", "stranger")
MAY_CANCEL = {APPLICANT, "master", "ops-1", "ops-2"}
LIES = ("key", "amount", "route", "payee")


class Script:
    """One run's choices, made from its own ``random.Random(seed)``."""

    def __init__(self, seed: int, step_function: StepFunction) -> None:
        self.random = random.Random(seed)
        self.step_function = step_function
        self.world = World.start()
        self.now = START
        self.steps: list[Step] = []
        # in-flight commands: (kind, the watch's until_final and report_mismatch)
        self.pending: list[tuple[str, tuple[bool, bool]]] = []
        self.nonces = 0
        self.refuses_submit = self.random.random() < 0.1
        self.loses_submit = self.random.random() < 0.2
        self.lie = self.random.choice(LIES) if self.random.random() < 0.2 else None
        # signed decisions sent before the review begins, or to a run with no review or
        # past it: they queue (``MAX_DECISIONS_WAITING``), are weighed when review begins
        self.floods = self.random.random() < 0.1

    def run(self) -> Violation | None:
        after_end = 0
        most = MAX_STEPS + (FLOOD_STEPS if self.floods else 0)
        while len(self.steps) < most and after_end <= STEPS_AFTER_THE_END:
            step = self._next()
            if step is None:
                break
            self.steps.append(step)
            names = apply(self.world, step, self.step_function)
            if names:
                return Violation(len(self.steps) - 1, tuple(dict.fromkeys(names)))
            self._note_commands(step)
            if self.world.core.phase is Phase.ENDED:
                after_end += 1
        return None

    # ---- choosing ------------------------------------------------------------------
    def _next(self) -> Step | None:
        core = self.world.core
        if core.phase is Phase.OPENING:
            if self.random.random() < 0.05:
                return self._deliver(OpenRefused("R12: withdrawable is 0.00"))
            two = self.random.random() < 0.3
            return self._deliver(
                Opened(
                    review_required=two or self.random.random() < 0.4,
                    approvals_required=2 if two else 1,
                    applicants=frozenset({APPLICANT, "master"}),
                )
            )
        choices = [self._answer, self._provider_moves, self._outside, self._timer, self._crash]
        weights = [5, 2, 5, 1.5, 0.3]
        if self.floods and core.phase is not Phase.REVIEW:
            choices, weights = [*choices, self._flood], [*weights, 12]
        for _ in range(8):
            step = self.random.choices(choices, weights)[0]()
            if step is not None:
                return step
        return self._timer()

    def _deliver(self, event: Event, answers: str | None = None) -> Deliver:
        quick = self.world.core.phase is Phase.CODE  # a code lives 10 minutes
        steps = (1, 30, 120) if quick else (1, 30, 600, 3600, 86_400, 5 * 86_400)
        self.now += timedelta(seconds=self.random.choice(steps))
        return Deliver(event, self.now, answers)

    def _answer(self) -> Step | None:
        if not self.pending:
            return None
        kind, watch = self.pending[self.random.randrange(len(self.pending))]
        if kind == "SendCode":
            if self.random.random() < 0.05:
                return self._take(kind, CodeNotSent())
            return self._take(kind, CodeSent(self.now + timedelta(minutes=10)))
        if kind == "SubmitPayout":
            return self._submit()
        record = self.world.provider
        state, problem = (record.state, record.problem) if record else (None, None)
        if kind == "WatchPayout" and not _watch_answers(*watch, state, problem):
            return None
        return self._take(kind, RecordLooked(state, problem))

    def _submit(self) -> Step:
        record = self.world.provider
        if record is None and not self.refuses_submit and self.random.random() < 0.9:
            return ProviderSet(self._record(RecordState.PROCESSING))  # the submit lands
        if self.refuses_submit and record is None:
            return self._take("SubmitPayout", SubmitAnswered(refused="payee refused"))
        if self.loses_submit or self.random.random() < 0.1:
            return self._take("SubmitPayout", SubmitAnswered(lost=True))
        state, problem = (record.state, record.problem) if record else (None, None)
        return self._take("SubmitPayout", SubmitAnswered(state=state, problem=problem))

    def _record(self, state: RecordState) -> ProviderRecord:
        record = ProviderRecord(state)
        lie: dict[str, dict[str, Any]] = {
            "key": {"key": "w-other"},
            "amount": {"amount": Amount(record.amount.fen + 1)},
            "route": {"route": Route.BANK},
            "payee": {"payee": "bank:someone-else"},
        }
        return replace(record, **lie[self.lie]) if self.lie else record

    def _take(self, kind: str, event: Event) -> Deliver:
        for index, (pending, _) in enumerate(self.pending):
            if pending == kind:
                del self.pending[index]
                break
        if self.random.random() < 0.05:  # a duplicated answer: delivered twice
            self.steps.append(self._deliver(event))
            apply(self.world, self.steps[-1], self.step_function)
        return self._deliver(event, kind)

    def _provider_moves(self) -> Step | None:
        record = self.world.provider
        if record is None:
            return None
        if record.state is RecordState.PROCESSING:
            final = RecordState.SUCCEEDED if self.random.random() < 0.7 else RecordState.FAILED
            return ProviderSet(replace(record, state=final))
        if record.state is RecordState.SUCCEEDED and self.random.random() < 0.3:
            return ProviderSet(replace(record, state=RecordState.RETURNED))
        return None

    def _outside(self) -> Step | None:
        """Mostly what the phase expects, sometimes anything (refused at a constant cost)."""
        who = self.random.choice(PEOPLE)
        phase = self.world.core.phase
        kinds = ["code", "decision", "cancel", "callback", "resolution"]
        weights = {
            Phase.CODE: [8, 1, 0.5, 1, 0.5],
            Phase.REVIEW: [1, 8, 0.5, 1, 0.5],
        }.get(phase, [0.5, 1, 0.5, 4, 3])
        kind = self.random.choices(kinds, weights)[0]
        if kind == "code":
            return self._deliver(CodeChecked(right=self.random.random() < 0.6))
        if kind == "decision":
            return self._deliver(self._decision(who))
        if kind == "cancel":
            return self._deliver(CancelArrived(by=who, authorised=who in MAY_CANCEL))
        if kind == "callback":
            return self._deliver(self._callback())
        return self._deliver(self._resolution(who))

    def _decision(self, who: str) -> DecisionArrived:
        proof = self.random.choices(list(Proof), [6, 1, 1, 1, 1])[0]
        if self.nonces and self.random.random() < 0.15:
            nonce = f"n{self.random.randrange(self.nonces)}"  # a replayed proof
        else:
            self.nonces += 1
            nonce = f"n{self.nonces}"
        return DecisionArrived(
            approve=self.random.random() < 0.75,
            identity=who,
            proof=proof,
            nonce=nonce,
            role_allowed=who.startswith(("rev", "ops")),
        )

    def _flood(self) -> Step:
        """A signed decision a second after the last (the code lives ten minutes)."""
        self.nonces += 1
        self.now += timedelta(seconds=1)
        decision = DecisionArrived(
            approve=self.random.random() < 0.9,
            identity=self.random.choice(("rev-a", "rev-b", "ops-1")),
            proof=Proof.VALID,
            nonce=f"n{self.nonces}",
        )
        return Deliver(decision, self.now, None)

    def _callback(self) -> CallbackArrived:
        record = self.world.provider
        if record is not None and self.random.random() < 0.6:
            return CallbackArrived(record.state)  # truthful (maybe late or repeated)
        lying = self.random.choice(list(RecordState))
        return CallbackArrived(lying, for_this_withdrawal=self.random.random() < 0.9)

    def _resolution(self, who: str) -> ResolutionArrived:
        record = self.world.provider
        return ResolutionArrived(
            paid=self.random.random() < 0.3,
            identity=who,
            authorised=who.startswith("ops") or self.random.random() < 0.1,
            provider_holds_match=record is not None and record.money_left,
            reference="ref-1",
        )

    def _timer(self) -> Step | None:
        timers = self.world.timers
        if not timers:
            return None
        name = min(timers, key=lambda timer: timers[timer])
        self.now = max(self.now, timers[name])
        return Deliver(TimerFired(name), self.now, None)

    def _crash(self) -> Step:
        return Crash()

    def _note_commands(self, step: Step) -> None:
        if not isinstance(step, Deliver):
            return
        for command in self.world.last_commands:
            kind = type(command).__name__
            if kind in ("SendCode", "SubmitPayout", "LookUp"):
                self.pending.append((kind, (False, False)))
            elif isinstance(command, WatchPayout):
                self.pending.append((kind, (command.until_final, command.report_mismatch)))
        self.world.last_commands = []


def _watch_answers(
    until_final: bool, report_mismatch: bool, state: RecordState | None, problem: str | None
) -> bool:
    """``watch_payout`` answers only news: a final record, a mismatch to report, or (on
    the parked schedule, not parked on a mismatch) a matching record the provider knows."""
    if problem is not None:
        return report_mismatch
    if state is None:
        return False
    return state is not RecordState.PROCESSING or not until_final


def run_seed(
    seed: int, step_function: StepFunction = decide.step
) -> tuple[list[Step], Violation | None]:
    script = Script(seed, step_function)
    violation = script.run()
    return script.steps, violation
