"""``workflows.core.statuses.status_after`` says the statuses the real workflow records
(issue 23 item 1): on each main path, the statuses ``decide.step`` records, driven by
the path's events, are the statuses the workflow's rooms recorded in the saved history
of that path (the status document its run returned, decoded from the history). The
rooms build their ``Change``s themselves; this is where they are checked against the
core's function. Saved histories must replay against today's rooms
(``tests/workflows/test_replay.py``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from client.connection import data_converter
from models.domain import Status, TimelineEntry, WithdrawalStatusDoc
from tests.workflows.keys import TEST_KEYS
from workflows.core import decide
from workflows.core.state import (
    CancelArrived,
    CodeChecked,
    CodeSent,
    Core,
    DecisionArrived,
    Event,
    Opened,
    Proof,
    RecordLooked,
    RecordState,
    RecordStatus,
    ResolutionArrived,
    SubmitAnswered,
    TimerFired,
)
from workflows.core.statuses import Turn, status_after

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
APPLICANTS = frozenset({"applicant"})
# a core note and the note the rooms write for the same turn (the status must agree)
SAME_TURN = {"payout outcome unknown": "payout outcome unknown", "review overdue": "review SLA"}


def opened(reviewed: bool) -> list[Event]:
    return [Opened(reviewed, 1, APPLICANTS), CodeSent(START + timedelta(minutes=10))]


VERIFIED: list[Event] = [CodeChecked(right=True)]
APPROVED: list[Event] = [DecisionArrived(True, "rev-1", Proof.VALID, "n1")]
ACCEPTED: list[Event] = [SubmitAnswered(state=RecordState.PROCESSING)]
PARKED: list[Event] = [SubmitAnswered(lost=True), RecordLooked(None)]


@dataclass(frozen=True)
class Path_:
    history: str
    events: list[Event]


PATHS = {
    "auto succeeded": Path_(
        "test_r16_original_route_without_risk_succeeds_without_review-0",
        [*opened(False), *VERIFIED, *ACCEPTED, RecordLooked(RecordState.SUCCEEDED)],
    ),
    "review approved": Path_(
        "test_r9_designated_account_is_paid_after_approval-alipay-0",
        [*opened(True), *VERIFIED, *APPROVED, *ACCEPTED, RecordLooked(RecordState.SUCCEEDED)],
    ),
    "review overdue, then approved": Path_(
        "test_review_sla_marks_withdrawal_overdue_and_keeps_it_in_review-0",
        [
            *opened(True),
            *VERIFIED,
            TimerFired(decide.REVIEW_SLA),
            *APPROVED,
            *ACCEPTED,
            RecordLooked(RecordState.SUCCEEDED),
        ],
    ),
    "rejected": Path_(
        "test_r19_rejected_withdrawal_releases_frozen_funds-0",
        [*opened(True), *VERIFIED, DecisionArrived(False, "rev-1", Proof.VALID, "n1")],
    ),
    "cancelled in the code phase": Path_(
        "test_only_the_applicant_or_its_master_account_or_ops_may_cancel-1",
        [*opened(False), CancelArrived("applicant", authorised=True)],
    ),
    "cancelled in review": Path_(
        "test_cancel_before_payout_releases_funds-0",
        [*opened(True), *VERIFIED, CancelArrived("applicant", authorised=True)],
    ),
    "code expired": Path_(
        "test_r15_code_expiry_cancels_and_releases-0",
        [*opened(False), TimerFired(decide.CODE_EXPIRY)],
    ),
    "payout failed": Path_(
        "test_failure_reported_after_acceptance_fails_and_releases-0",
        [*opened(True), *VERIFIED, *APPROVED, *ACCEPTED, RecordLooked(RecordState.FAILED)],
    ),
    "payout unknown parked, resolved paid": Path_(
        "test_unknown_payout_is_parked_then_resolved_by_ops-0",
        [*opened(False), *VERIFIED, *PARKED, ResolutionArrived(True, "ops-1", authorised=True)],
    ),
    "payout unknown parked, resolved not paid": Path_(
        "test_unknown_payout_is_parked_then_resolved_by_ops-1",
        [
            *opened(False),
            *VERIFIED,
            *PARKED,
            ResolutionArrived(False, "ops-1", authorised=True),
            ResolutionArrived(False, "lead-1", authorised=True),
        ],
    ),
}


def recorded_by_the_core(events: list[Event]) -> list[RecordStatus]:
    core, now, recorded = Core("w-1"), START, []
    for event in events:
        now += timedelta(hours=49) if isinstance(event, TimerFired) else timedelta(seconds=1)
        core, commands = decide.step(core, event, now)
        recorded += [command for command in commands if isinstance(command, RecordStatus)]
    return recorded


def recorded_by_the_rooms(history: str) -> list[TimelineEntry]:
    saved = WorkflowHistory.from_json("saved", (HISTORIES / f"{history}.json").read_text())
    completed = saved.events[-1].workflow_execution_completed_event_attributes
    decode = data_converter(TEST_KEYS).decode(completed.result.payloads, [WithdrawalStatusDoc])
    (doc,) = asyncio.run(decode)
    assert isinstance(doc, WithdrawalStatusDoc)
    return doc.timeline


def changes(statuses: list[str]) -> list[str]:
    """The status sequence without repeats (notes under one status are not changes)."""
    return [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_the_core_records_the_statuses_the_workflow_recorded(path: Path_) -> None:
    timeline = recorded_by_the_rooms(path.history)
    core = recorded_by_the_core(path.events)
    real = changes([entry.status.value for entry in timeline])
    assert changes([Core("w-1").status, *(record.status for record in core)]) == real
    for core_note, room_note in SAME_TURN.items():
        ours = [record.status for record in core if record.note == core_note]
        theirs = [e.status.value for e in timeline if e.note.startswith(room_note)]
        assert ours == theirs[: len(ours)] and bool(ours) == bool(theirs), core_note


def test_a_final_status_changes_only_when_a_payout_is_returned() -> None:
    for status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.REJECTED):
        for turn in Turn:
            expected = (
                Status.RETURNED if (status, turn) == (Status.SUCCEEDED, Turn.RETURNED) else status
            )
            assert status_after(status, turn) is expected, (status, turn)
