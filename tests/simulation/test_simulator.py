"""The decision core under the seeded simulator (issue 23 item 3): 500 runs keep every
money invariant, and each invariant is seen to fail: a mutant decision swapped into the
core breaks it and the simulator names it, with a shrunk failing sequence."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from simulation import invariants, script
from simulation.__main__ import main
from simulation.engine import Violation, replay, shrink
from simulation.script import run_seed
from workflows.core import decide, decide_payout, endings
from workflows.core import review as core_review
from workflows.core.state import (
    Command,
    Core,
    Event,
    Phase,
    RecordStatus,
    SubmitAnswered,
    SubmitPayout,
)
from workflows.core.statuses import Turn, status_after

RUNS_IN_MAKE_TEST = 500
MUTANT_RUNS = 3000


def first_violation(runs: int) -> tuple[int, Violation] | None:
    for seed in range(runs):
        _, violation = run_seed(seed)
        if violation is not None:
            return seed, violation
    return None


def test_500_seeded_runs_keep_every_money_invariant() -> None:
    assert first_violation(RUNS_IN_MAKE_TEST) is None


def test_the_command_prints_the_contract_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--runs", "20", "--seed", "7"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "20 runs, 0 invariant violations (seed 7)"


def caught(invariant: str) -> None:
    """The simulator finds ``invariant`` broken, and its shrunk sequence still breaks it."""
    found = first_violation(MUTANT_RUNS)
    assert found is not None, f"the mutant of '{invariant}' went unnoticed"
    seed, violation = found
    print(f"mutant caught at run {seed}: {'; '.join(violation.names)}")
    assert invariant in violation.names, violation.names
    steps, _ = run_seed(seed)
    shortest, again = shrink(steps)
    assert invariant in again.names and len(shortest) <= len(steps)
    assert replay(shortest) is not None


def test_a_finished_run_that_keeps_the_hold_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def ends_without_release(core: Core, turn: Turn, why: str) -> tuple[Core, list[Command]]:
        status = status_after(core.status, turn)
        ended = replace(core, phase=Phase.ENDED, held_for="", status=status, reason=why)
        return ended, [RecordStatus(status, why)]

    monkeypatch.setattr(endings, "end", ends_without_release)
    caught(invariants.ONE_PLACE)


def test_posting_on_a_record_that_does_not_match_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = decide_payout.record_action
    monkeypatch.setattr(decide_payout, "record_action", lambda state, problem: checked(state, None))
    caught(invariants.POST_ALLOWED)


def test_releasing_on_one_persons_not_paid_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decide_payout, "not_paid_is_final", lambda reviewers: len(reviewers) >= 1)
    caught(invariants.RELEASE_ALLOWED)


def test_crediting_a_return_twice_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def credits_every_returned_record(core: Core, event: Any, now: datetime) -> Any:
        if event.state is not None and event.state.value == "returned":
            return decide_payout.credit_return(core)
        return core, []

    monkeypatch.setitem(
        decide._HANDLERS, (Phase.ENDED, decide.RecordLooked), credits_every_returned_record
    )
    caught(invariants.RETURN_ONCE)


def test_a_second_submit_key_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = decide._HANDLERS[(Phase.PAYOUT, SubmitAnswered)]

    def resubmits_under_a_new_key(core: Core, event: Any, now: datetime) -> Any:
        if event.lost:  # "nothing came back, try again": the double payout of issue 22
            return core, [SubmitPayout(f"{core.withdrawal_id}-again")]
        return real(core, event, now)

    monkeypatch.setitem(decide._HANDLERS, (Phase.PAYOUT, SubmitAnswered), resubmits_under_a_new_key)
    caught(invariants.NEVER_PAID_TWICE)


def test_the_same_person_approving_twice_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = decide._HANDLERS[(Phase.REVIEW, decide.DecisionArrived)]

    def counts_decisions_not_people(core: Core, event: Any, now: datetime) -> Any:
        core, commands = real(core, event, now)
        if event.approve and event.identity in core.approvers and core.phase is Phase.REVIEW:
            core = replace(core, approvers=(*core.approvers, event.identity))
            if len(core.approvers) >= core.approvals_required:
                return decide._submit(core, now)
        return core, commands

    monkeypatch.setitem(
        decide._HANDLERS, (Phase.REVIEW, decide.DecisionArrived), counts_decisions_not_people
    )
    caught(invariants.REVIEW_PEOPLE)


def accepts_replayed_proofs(nonce: str | None, seen: Any) -> str | None:
    """A mutant of ``workflows.core.review.spent_problem``: a proof is never spent."""
    return None


def test_a_replayed_proof_taken_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule the review and cancel rooms run too (``tests/simulation/
    test_core_in_the_shell.py`` shows the real workflow taking the replay): a copied
    proof counts an approval its signer never gave."""
    monkeypatch.setattr(core_review, "spent_problem", accepts_replayed_proofs)
    caught(invariants.REVIEW_PEOPLE)


def admits_without_a_queue_limit(
    *, nonce: str | None, seen: Any, waiting: int, accepted: int
) -> str | None:
    """A mutant of ``workflows.core.review.admission_problem``: the queue never full."""
    return real_admission_problem(nonce=nonce, seen=seen, waiting=0, accepted=accepted)


real_admission_problem = core_review.admission_problem


def test_a_queue_without_its_limit_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """``MAX_DECISIONS_WAITING``: signed decisions flooding a run before its review (or
    one with none) queue; past the limit they are refused. Without it they queue up to
    the verified count: no history bound or refused-input cost notices (each is paid
    for by its own signal, and weighed at most once), the room invariant does."""
    monkeypatch.setattr(core_review, "admission_problem", admits_without_a_queue_limit)
    caught(invariants.BOUNDED_ROOM)


def test_a_refused_input_that_records_something_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def records_every_refusal(core: Core) -> tuple[Core, list[Command]]:
        core = replace(core, refused_inputs=core.refused_inputs + 1)
        return core, [RecordStatus(core.status, "refused input recorded")]

    monkeypatch.setattr(endings, "refused", records_every_refusal)
    caught(invariants.REFUSED_CONSTANT)


def test_a_mismatch_reported_again_on_every_watch_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loop issue 22 removed: a parked mismatch answered at once by each new watch."""

    def parks_and_watches_again(core: Core, state: Any, problem: Any) -> Any:
        if problem is None:
            return real(core, state, problem)
        core = replace(core, payout_unknown=True, mismatch=problem, held_for="mismatch")
        return core, [RecordStatus(core.status, "parked"), decide_payout.WatchPayout(True)]

    real = decide_payout.on_record
    monkeypatch.setattr(decide_payout, "on_record", parks_and_watches_again)
    monkeypatch.setattr(script, "MAX_STEPS", 200)
    caught(invariants.HISTORY_BOUNDED)


def test_a_lost_submit_left_unwatched_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = decide._HANDLERS[(Phase.PAYOUT, SubmitAnswered)]

    def forgets_a_lost_submit(core: Core, event: Any, now: datetime) -> Any:
        return (core, []) if event.lost else real(core, event, now)

    monkeypatch.setitem(decide._HANDLERS, (Phase.PAYOUT, SubmitAnswered), forgets_a_lost_submit)
    caught(invariants.ENDS_OR_WAITS)


def test_a_decision_that_depends_on_more_than_its_events_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = {"n": 0}
    real = decide.step

    def remembers_outside_its_state(core: Core, event: Event, now: datetime) -> Any:
        calls["n"] += 1
        core, commands = real(core, event, now)
        return replace(core, callbacks_ignored=core.callbacks_ignored + calls["n"] % 2), commands

    found = None
    for seed in range(MUTANT_RUNS):
        _, found = script.run_seed(seed, remembers_outside_its_state)
        if found is not None:
            break
    assert found is not None and invariants.REPLAYS in found.names
    print(f"mutant caught at run {seed}: {'; '.join(found.names)}")


def test_a_violation_exits_1_with_the_shortest_sequence_and_the_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make simulate``'s contract on failure: exit 1, the shrunk sequence, the seed."""

    def ends_without_release(core: Core, turn: Turn, why: str) -> tuple[Core, list[Command]]:
        return replace(
            core, phase=Phase.ENDED, held_for="", status=status_after(core.status, turn)
        ), []

    monkeypatch.setattr(endings, "end", ends_without_release)
    assert main(["--runs", "50", "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "shortest failing sequence" in out and "SEED=3" in out
    assert invariants.ONE_PLACE in out
    assert out.splitlines()[-1].endswith("1 invariant violations (seed 3)")
