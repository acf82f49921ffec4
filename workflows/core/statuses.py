"""Which status follows which turn of a withdrawal (R18), decided purely.

``decide.step`` builds every ``RecordStatus`` command from ``status_after``. The rooms
build their ``Change``s for the status room themselves; that they record the same
statuses on the main paths is checked against the statuses saved histories recorded
(``tests/simulation/test_statuses.py``).
"""

from __future__ import annotations

from enum import StrEnum

from models.domain import Status


class Turn(StrEnum):
    """What happened to the withdrawal that the status record hears of."""

    OPEN_REFUSED = "open refused"  # R1-R14 at open: nothing was frozen
    CODE_SENT = "code sent"  # R15
    CODE_NOT_SENT = "code not sent"  # R15: the SMS gateway gave up (money released)
    CODE_ENDED = "code ended"  # R15: expired, or too many wrong codes
    CANCELLED = "cancelled"  # R2: an authorised cancel before the payout was sent
    REVIEW_STARTED = "review started"  # R17
    REVIEW_OVERDUE = "review overdue"  # R17's SLA passed: a flag, the review goes on
    REJECTED = "rejected"  # R17: an authorised rejection
    REVIEW_INVARIANT_BROKEN = "review invariant broken"  # nothing sent, money released
    PAYING_OUT = "paying out"  # verified (and approved): the payout is submitted
    SUBMIT_REFUSED = "submit refused"  # refused for good: nothing was sent
    PAYOUT_UNKNOWN = "payout unknown"  # parked: money held until the provider or ops
    PAYOUT_PARKED = "payout parked"  # a record that does not match: money held
    OUTCOME_KNOWN = "outcome known"  # the provider knows the transfer after all
    PAID = "paid"  # a matching succeeded record, or an authorised --paid
    PAYOUT_FAILED = "payout failed"  # a matching failed record
    NOT_PAID = "not paid"  # a two-person --not-paid
    RETURNED = "returned"  # paid, then sent back by the provider (issue 25)


# Turns that leave the status as it is: the status record notes them (a flag, a line).
FLAGS = frozenset(
    {Turn.REVIEW_OVERDUE, Turn.PAYOUT_UNKNOWN, Turn.PAYOUT_PARKED, Turn.OUTCOME_KNOWN}
)
MOVES: dict[Turn, Status] = {
    Turn.OPEN_REFUSED: Status.FAILED,
    Turn.CODE_SENT: Status.AWAITING_CODE,
    Turn.CODE_NOT_SENT: Status.FAILED,
    Turn.CODE_ENDED: Status.CANCELLED,  # R15 cancels (docs/rules.md), never "failed"
    Turn.CANCELLED: Status.CANCELLED,
    Turn.REVIEW_STARTED: Status.UNDER_REVIEW,
    Turn.REJECTED: Status.REJECTED,
    Turn.REVIEW_INVARIANT_BROKEN: Status.FAILED,
    Turn.PAYING_OUT: Status.APPROVED_AWAITING_PAYOUT,
    Turn.SUBMIT_REFUSED: Status.FAILED,
    Turn.PAID: Status.SUCCEEDED,
    Turn.PAYOUT_FAILED: Status.FAILED,
    Turn.NOT_PAID: Status.FAILED,
}


def status_after(status: str, turn: Turn) -> Status:
    """The status the withdrawal shows once ``turn`` happened to it in ``status``. A
    final status never changes, except a succeeded payout the provider returned."""
    current = Status(status)
    if turn is Turn.RETURNED:
        return Status.RETURNED if current is Status.SUCCEEDED else current
    if current.is_final or turn in FLAGS:
        return current
    return MOVES[turn]
