"""R2/R18 cancels, decided purely: whether a cancel may even be asked now, whether an
account may cancel, a signed cancel's proof spent once and its person's refusals capped,
and what the ``authorize_cancel`` activity's verdict makes of it.

The cancel room (``workflows/rooms/cancel.py``: its validator and update) asks these, and
``decide.step``'s cancel is made of them, so the simulator checks what the worker runs.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from models.limits import MAX_CANCEL_REFUSALS, MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON
from workflows.core import review

TOO_LATE = "the payout has been sent; it can no longer be cancelled"


class CancelVerdict(StrEnum):
    """What the ``authorize_cancel`` activity's verdict makes of a cancel."""

    REFUSED = "refused"  # not authorised (R2): the run goes on
    TOO_LATE = "too_late"  # authorised, but the payout was sent meanwhile (R18)
    ACCEPTED = "accepted"  # the run ends cancelled at its next wait


class RefusalCounted(StrEnum):
    """Where a refused cancel is counted."""

    TOWARDS_ALL = "towards_all"  # runs from before the workflow verified proofs
    TOWARDS_PERSON = "towards_person"  # a signed cancel: its person's refusals
    NOWHERE = "nowhere"  # an account's cancel refused by the validator costs nothing


def gate_problem(*, final: str | None, sent: bool, under_way: bool, refusals: int) -> str | None:
    """The validator's first words (``final``: the final status, if any): a cancel
    after the end, after the payout was sent, beside one under way, or past the refusals
    an old run counted, is refused before anything reaches history."""
    if final is not None:
        return f"the withdrawal is already {final}"
    if sent:
        return TOO_LATE
    if under_way:
        return "a cancellation is already under way"
    if refusals >= MAX_CANCEL_REFUSALS:
        return f"R2: {MAX_CANCEL_REFUSALS} cancel attempts were refused already"
    return None


def account_problem(by: str, applicants: Collection[str], *, opened: bool) -> str | None:
    """R2: an account cancels only its own withdrawal (the applicant or its master
    account, known once opened)."""
    if by in applicants:
        return None
    if not opened:
        return "the withdrawal is still being opened; try again in a moment"
    return (
        f"R2: {by} is neither the applicant nor its master account; "
        "only they, or an ops or lead reviewer, may cancel"
    )


def used_up_problem(refused: int) -> str | None:
    """A person whose signed cancels were refused this often is refused without asking
    (review finding 3: fresh proofs of one person count towards one cap)."""
    if refused >= MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON:
        return f"{MAX_SIGNED_CANCEL_REFUSALS_PER_PERSON} cancels by this person refused"
    return None


def signed_problem(*, nonce: str | None, seen: Collection[str], refused: int) -> str | None:
    """A signed cancel's proof: spent once (``review.spent_problem``, shared with the
    decisions), then its person's refusals capped."""
    return review.spent_problem(nonce, seen) or used_up_problem(refused)


def verdict_of(*, allowed: bool, sent: bool) -> CancelVerdict:
    """``allowed``: ``authorize_cancel``'s answer; ``sent``: the run ended or sent the
    payout while it was asked (R18: then nothing can be cancelled)."""
    if not allowed:
        return CancelVerdict.REFUSED
    return CancelVerdict.TOO_LATE if sent else CancelVerdict.ACCEPTED


def refusal_counted(*, verified_here: bool, signed: bool, capped: bool) -> RefusalCounted:
    """Where a refusal counts: every refusal in runs from before the workflow verified
    proofs (``MAX_CANCEL_REFUSALS``); since, only a signed cancel's, per person, in runs
    that cap them."""
    if not verified_here:
        return RefusalCounted.TOWARDS_ALL
    return RefusalCounted.TOWARDS_PERSON if signed and capped else RefusalCounted.NOWHERE
