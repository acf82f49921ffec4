"""``reconcile.compare.compare`` on hand-made views: each kind of mismatch, and none
when the provider, the ledger and the workflows agree (R19: money ends in one place)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from gateways.payout import Transfer, TransferState
from ledger.tables import HoldState
from models.domain import Route, Status
from models.money import Money
from models.provider_record import ExpectedTransfer
from reconcile.compare import (
    HoldView,
    LedgerView,
    MismatchKind,
    RecordView,
    Report,
    compare,
)

LISTED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
BEFORE = LISTED_AT - timedelta(minutes=5)
AFTER = LISTED_AT + timedelta(seconds=1)


def transfer(key: str, state: TransferState, amount: str = "10.00") -> Transfer:
    return Transfer(idempotency_key=key, state=state, amount=Money.yuan(amount))


def hold(key: str, state: HoldState, amount: str = "10.00", at: datetime = BEFORE) -> HoldView:
    return HoldView(withdrawal_id=key, amount=Money.yuan(amount), state=state, created_at=at)


def ledger(
    holds: list[HoldView],
    records: dict[str, Status],
    debits: dict[str, list[str]] | None = None,
) -> LedgerView:
    if debits is None:  # by default every posted hold has its one debit
        debits = {h.withdrawal_id: [str(h.amount)] for h in holds if h.state is HoldState.POSTED}
    return LedgerView(
        holds=holds,
        records=[RecordView(withdrawal_id=k, status=s) for k, s in records.items()],
        debits={k: [Money.yuan(a) for a in amounts] for k, amounts in debits.items()},
    )


def kinds(report: Report) -> list[tuple[MismatchKind, str]]:
    return [(m.kind, m.withdrawal_id) for m in report.mismatches]


def test_consistent_books_report_nothing() -> None:
    report = compare(
        [
            transfer("paid", TransferState.SUCCEEDED),
            transfer("bounced", TransferState.FAILED),
            transfer("moving", TransferState.PROCESSING),
        ],
        ledger(
            [
                hold("paid", HoldState.POSTED),
                hold("bounced", HoldState.VOIDED),
                hold("moving", HoldState.HELD),
                hold("rejected", HoldState.VOIDED),
            ],
            {
                "paid": Status.SUCCEEDED,
                "bounced": Status.FAILED,
                "moving": Status.APPROVED_AWAITING_PAYOUT,
                "rejected": Status.REJECTED,
                "refused": Status.FAILED,  # refused before anything was frozen: no hold
            },
        ),
        {"moving"},
        as_of=LISTED_AT,
    )
    assert report.clean, report.mismatches
    assert (report.transfers, report.holds, report.records, report.open_workflows) == (3, 4, 5, 1)


def test_paid_while_workflow_still_settling_is_in_flight_not_a_mismatch() -> None:
    report = compare(
        [transfer("w1", TransferState.SUCCEEDED)],
        ledger([hold("w1", HoldState.HELD)], {"w1": Status.APPROVED_AWAITING_PAYOUT}),
        {"w1"},
        as_of=LISTED_AT,
    )
    assert report.clean and report.in_flight == ["w1"]


def test_paid_at_provider_but_hold_not_posted() -> None:
    report = compare(
        [
            transfer("voided", TransferState.SUCCEEDED),
            transfer("closed", TransferState.SUCCEEDED),
            transfer("stranger", TransferState.SUCCEEDED),
        ],
        ledger(
            [hold("voided", HoldState.VOIDED), hold("closed", HoldState.HELD)],
            {"voided": Status.FAILED, "closed": Status.APPROVED_AWAITING_PAYOUT},
        ),
        set(),
        as_of=LISTED_AT,
    )
    assert kinds(report) == [
        (MismatchKind.PAID_NOT_POSTED, "closed"),
        (MismatchKind.PAID_NOT_POSTED, "stranger"),
        (MismatchKind.PAID_NOT_POSTED, "voided"),
        (MismatchKind.HELD_WITHOUT_WORKFLOW, "closed"),
    ]


def test_posted_hold_without_a_succeeded_transfer() -> None:
    report = compare(
        [transfer("bounced", TransferState.FAILED)],
        ledger(
            [hold("bounced", HoldState.POSTED), hold("unknown", HoldState.POSTED)],
            {"bounced": Status.SUCCEEDED, "unknown": Status.SUCCEEDED},
        ),
        set(),
        as_of=LISTED_AT,
    )
    assert kinds(report) == [
        (MismatchKind.POSTED_NOT_PAID, "bounced"),
        (MismatchKind.POSTED_NOT_PAID, "unknown"),
    ]
    assert "failed" in report.mismatches[0].detail
    assert "no transfer" in report.mismatches[1].detail


def test_money_moved_more_than_once_for_one_key() -> None:
    books = ledger(
        [hold("twice", HoldState.POSTED), hold("counted", HoldState.POSTED)],
        {"twice": Status.SUCCEEDED, "counted": Status.SUCCEEDED},
    )
    listing = [
        transfer("twice", TransferState.SUCCEEDED),
        transfer("twice", TransferState.PROCESSING),
        transfer("counted", TransferState.SUCCEEDED),
    ]
    report = compare(listing, books, set(), as_of=LISTED_AT, movements={"counted": 2})
    assert kinds(report) == [
        (MismatchKind.PAID_MORE_THAN_ONCE, "counted"),
        (MismatchKind.PAID_MORE_THAN_ONCE, "twice"),
    ]


def test_provider_paid_another_amount_than_held() -> None:
    report = compare(
        [transfer("w1", TransferState.SUCCEEDED, "10.01")],
        ledger([hold("w1", HoldState.POSTED, "10.00")], {"w1": Status.SUCCEEDED}),
        set(),
        as_of=LISTED_AT,
    )
    assert kinds(report) == [(MismatchKind.AMOUNT_DIFFERS, "w1")]


def test_held_without_open_workflow_unless_newer_than_the_listing() -> None:
    report = compare(
        [],
        ledger(
            [hold("stuck", HoldState.HELD), hold("new", HoldState.HELD, at=AFTER)],
            {"stuck": Status.AWAITING_CODE, "new": Status.VERIFYING},
        ),
        set(),
        as_of=LISTED_AT,
    )
    assert kinds(report) == [(MismatchKind.HELD_WITHOUT_WORKFLOW, "stuck")]


def test_final_status_disagreeing_with_hold() -> None:
    report = compare(
        [transfer("ok-but-voided", TransferState.FAILED)],
        ledger(
            [
                hold("ok-but-voided", HoldState.VOIDED),
                hold("cancelled-but-posted", HoldState.POSTED),
                hold("pending-but-voided", HoldState.VOIDED),
                hold("orphan", HoldState.VOIDED),
            ],
            {
                "ok-but-voided": Status.SUCCEEDED,
                "cancelled-but-posted": Status.CANCELLED,
                "pending-but-voided": Status.UNDER_REVIEW,
                "ok-without-hold": Status.SUCCEEDED,
            },
            debits={"cancelled-but-posted": ["10.00"]},
        ),
        {"pending-but-voided"},
        as_of=LISTED_AT,
    )
    disagreements = [
        (m.withdrawal_id, m.detail)
        for m in report.mismatches
        if m.kind is MismatchKind.STATUS_DISAGREES_WITH_HOLD
    ]
    assert disagreements == [
        ("cancelled-but-posted", "cancelled; hold is posted"),
        ("ok-but-voided", "succeeded; hold is voided"),
        ("ok-without-hold", "succeeded; hold is no hold"),
        ("orphan", "hold (voided) without a withdrawal record"),
        ("pending-but-voided", "under_review (not final); hold is voided"),
    ]


def test_posted_hold_needs_exactly_one_debit_of_its_amount() -> None:
    report = compare(
        [transfer(k, TransferState.SUCCEEDED) for k in ("none", "two", "wrong")],
        ledger(
            [
                hold("none", HoldState.POSTED),
                hold("two", HoldState.POSTED),
                hold("wrong", HoldState.POSTED),
                hold("voided", HoldState.VOIDED),
            ],
            {
                "none": Status.SUCCEEDED,
                "two": Status.SUCCEEDED,
                "wrong": Status.SUCCEEDED,
                "voided": Status.CANCELLED,
            },
            debits={"two": ["10.00", "10.00"], "wrong": ["9.99"], "voided": ["10.00"]},
        ),
        set(),
        as_of=LISTED_AT,
    )
    assert kinds(report) == [
        (MismatchKind.DEBIT_DISAGREES_WITH_HOLD, "none"),
        (MismatchKind.DEBIT_DISAGREES_WITH_HOLD, "two"),
        (MismatchKind.DEBIT_DISAGREES_WITH_HOLD, "voided"),
        (MismatchKind.DEBIT_DISAGREES_WITH_HOLD, "wrong"),
    ]


def test_summary_counts_every_kind() -> None:
    report = compare(
        [transfer("w1", TransferState.SUCCEEDED)],
        ledger([], {}),
        set(),
        as_of=LISTED_AT,
    )
    counts = report.by_kind()
    assert set(counts) == {kind.value for kind in MismatchKind}
    assert counts[MismatchKind.PAID_NOT_POSTED.value] == 1 and sum(counts.values()) == 1


def test_a_transfer_under_the_key_that_is_not_the_withdrawals_never_counts_as_paid() -> None:
    """Issue 22: reconcile checks each transfer with ``check_record`` against what the
    record expects. Another payee's transfer under the key is reported, is not "in
    flight" for a running workflow, and does not cover a posted hold."""
    mine = ExpectedTransfer(
        key="parked", amount=Money.yuan("10.00"), route=Route.BANK, payee_digest="mine"
    )
    posted = dataclasses.replace(mine, key="posted")
    others = [
        transfer("parked", TransferState.SUCCEEDED).model_copy(update={"payee_digest": "other"}),
        transfer("posted", TransferState.SUCCEEDED).model_copy(update={"payee_digest": "other"}),
    ]
    view = ledger(
        [hold("parked", HoldState.HELD), hold("posted", HoldState.POSTED)],
        {"parked": Status.APPROVED_AWAITING_PAYOUT, "posted": Status.SUCCEEDED},
    )
    view = dataclasses.replace(
        view,
        records=[
            RecordView("parked", Status.APPROVED_AWAITING_PAYOUT, expected=mine),
            RecordView("posted", Status.SUCCEEDED, expected=posted),
        ],
    )
    report = compare(others, view, {"parked"}, as_of=LISTED_AT)

    assert kinds(report) == [
        (MismatchKind.POSTED_NOT_PAID, "posted"),
        (MismatchKind.PROVIDER_RECORD_MISMATCH, "parked"),
        (MismatchKind.PROVIDER_RECORD_MISMATCH, "posted"),
    ]
    assert report.in_flight == []
    assert all("payee" in m.detail for m in report.mismatches if m.kind.name.startswith("PROV"))
