"""The core knows main's two review-finding behaviours (issue 22 findings 2 and 3, as
the rooms do since patches ``mismatch-parked-until-final-record`` and
``cancel-proof-spent-once-refusals-capped``), so the simulator models them too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from models.limits import MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON
from workflows.core import decide
from workflows.core.history import HISTORY_COST
from workflows.core.state import (
    CancelArrived,
    Core,
    Phase,
    RecordLooked,
    RecordState,
    RecordStatus,
    WatchPayout,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MISMATCH = "the record's amount does not match"


def test_a_record_flipping_between_matching_and_not_stays_parked_until_final() -> None:
    """Review finding 2: a matching ``processing`` record does not unpark a payout parked
    on a mismatch (a flip back would be reported again with no timer between); its watch
    waits for a final record without reporting the mismatch again; a final match unparks."""
    core = Core("w-1", phase=Phase.PAYOUT, submitted=True)
    core, commands = decide.step(core, RecordLooked(RecordState.PROCESSING, MISMATCH), NOW)
    assert core.mismatch == MISMATCH and core.payout_unknown
    assert WatchPayout(until_final=True, report_mismatch=False) in commands
    history = core.history
    for state, problem in [(RecordState.PROCESSING, None), (RecordState.PROCESSING, MISMATCH)] * 5:
        core, commands = decide.step(core, RecordLooked(state, problem), NOW)
        assert not any(isinstance(command, RecordStatus) for command in commands)
        assert core.mismatch == MISMATCH and core.payout_unknown  # still parked
    assert core.history - history == 10 * HISTORY_COST[WatchPayout]
    core, _ = decide.step(core, RecordLooked(RecordState.SUCCEEDED, None), NOW)
    assert core.phase is Phase.ENDED and core.status == "succeeded"


def test_a_cancel_proof_is_spent_once_and_signed_refusals_are_capped_per_person() -> None:
    """Review finding 3: a replayed cancel proof is refused without asking; a person whose
    signed cancels were refused MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON times is refused
    even with a fresh, authorised proof; another person, or an account, still cancels."""
    core = Core("w-1", phase=Phase.REVIEW)
    for n in range(MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON):
        core, commands = decide.step(core, CancelArrived("rev-1", False, nonce=f"c{n}"), NOW)
        assert commands == [] and core.phase is Phase.REVIEW
    assert core.signed_cancels_refused == ("rev-1",) * MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON
    capped, _ = decide.step(core, CancelArrived("rev-1", True, nonce="fresh"), NOW)
    assert capped.phase is Phase.REVIEW and "fresh" not in capped.nonces_seen
    replayed, _ = decide.step(core, CancelArrived("ops-1", True, nonce="c0"), NOW)
    assert replayed.phase is Phase.REVIEW and replayed.refused_inputs == core.refused_inputs + 1
    by_other, _ = decide.step(core, CancelArrived("ops-1", True, nonce="c9"), NOW)
    assert by_other.status == "cancelled"
    by_account, _ = decide.step(replace(core), CancelArrived("applicant", True), NOW)
    assert by_account.status == "cancelled"
