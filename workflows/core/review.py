"""R17 manual review, decided purely: which signed decision has room, what a weighed
verdict does to the count, whether the approvals allow money to move, and when the
review SLA flags the withdrawal overdue.

The review room (``workflows/rooms/review.py``) and the cancel room ask these, and
``decide.step`` is made of them, so the simulator checks the rules the worker runs.
Callers reach them through this module (``review.admission_problem``), so a test that
swaps one for a mutant changes both (``tests/simulation/test_core_in_the_shell.py``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from models.limits import MAX_DECISIONS_VERIFIED, MAX_DECISIONS_WAITING

PROOF_ALREADY_USED = "proof already used"


@dataclass(frozen=True)
class Tally:
    """A review as counted: the approvals that counted and who may not be among them."""

    required: int
    applicants: frozenset[str]
    approvers: tuple[str, ...] = ()  # reviewer ids whose approval counted, each once
    # the people behind ``approvers`` (``models.authority.person_of``), as the activity
    # named them; shorter than ``approvers`` when an approval was weighed before issue 22
    people: tuple[str, ...] = ()


class Weighed(StrEnum):
    """What one weighed decision does to the review."""

    IGNORED = "ignored"  # the activity did not allow it: noted, nothing counts
    REJECTED = "rejected"  # any authorised rejection ends the review
    SHORT = "short"  # an approval counted; more are needed
    ENOUGH = "enough"  # the approvals required are there: on to the payout


def spent_problem(nonce: str | None, seen: Collection[str]) -> str | None:
    """A proof is spent once: its nonce seen before (a decision's or a cancel's) is a
    replay, refused whatever else it says."""
    return PROOF_ALREADY_USED if nonce is not None and nonce in seen else None


def admission_problem(
    *, nonce: str | None, seen: Collection[str], waiting: int, accepted: int
) -> str | None:
    """A decision whose proof fits: why it has no room (spent, the queue full, the
    verified count used up), or None: take it. Outside input is bounded, so refused
    ones cost a constant (docs/trust-model.md)."""
    spent = spent_problem(nonce, seen)
    if spent is not None:
        return spent  # the same proof, received twice meanwhile
    if waiting >= MAX_DECISIONS_WAITING:
        return f"{MAX_DECISIONS_WAITING} decisions already waiting"
    if accepted >= MAX_DECISIONS_VERIFIED:
        return f"{MAX_DECISIONS_VERIFIED} signed decisions already weighed"
    return None


def weigh(
    tally: Tally, *, approve: bool, allowed: bool, reviewer: str, person: str | None
) -> tuple[Tally, Weighed]:
    """One decision the ``review_decision`` activity weighed (``allowed``: its verdict,
    which refuses the applicant, roles that may not decide and the same person twice).
    An approval counts once per reviewer id; enough is counted by id, the activity having
    refused a second id of one person (issue 22); ``authorisation_problem`` counts people."""
    if not allowed:
        return tally, Weighed.IGNORED
    if not approve:
        return tally, Weighed.REJECTED
    if reviewer not in tally.approvers:
        people = tally.people if person is None else (*tally.people, person)
        tally = replace(tally, approvers=(*tally.approvers, reviewer), people=people)
    enough = len(tally.approvers) >= tally.required
    return tally, Weighed.ENOUGH if enough else Weighed.SHORT


def approvals_counted(tally: Tally) -> int:
    """People, not ids (issue 22), where the activity named every approver's person."""
    approvers = set(tally.approvers)
    return len(set(tally.people)) if len(tally.people) == len(approvers) else len(approvers)


def authorisation_problem(tally: Tally, *, reviewed: bool) -> str | None:
    """The invariant before money moves: a reviewed withdrawal has enough different
    approvers, none of them an applicant. None: money may move."""
    if not reviewed:
        return None
    if approvals_counted(tally) < tally.required or set(tally.approvers) & tally.applicants:
        return (
            f"payout with approvals {list(tally.approvers)} of {tally.required} "
            "required, applicant excluded"
        )
    return None


def review_timeout(*, overdue: bool, deadline: datetime, now: datetime) -> timedelta | None:
    """R17: how long the review waits before the SLA flags it overdue; None once flagged
    (it keeps waiting, without a timer). Zero or less: the SLA has passed."""
    return None if overdue else deadline - now


def sla_passed(*, overdue: bool, deadline: datetime, now: datetime) -> bool:
    """The SLA timer fired: flag the withdrawal overdue, once."""
    left = review_timeout(overdue=overdue, deadline=deadline, now=now)
    return left is not None and left <= timedelta(0)
