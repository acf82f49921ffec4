"""Who may decide a withdrawal under review (R17), and how many must approve: pure rules.

- Only a registered reviewer whose role may decide (``DECIDING_ROLES``) counts; anyone
  else's signal is recorded and ignored.
- Nobody approves their own withdrawal: not the account, not the account that applied
  for it (R2), not the account's enterprise master account.
- Four-eyes: above the threshold (``FOUR_EYES_THRESHOLD``, default 10000.00) two
  *different people* must approve before payout. The same person approving twice counts
  once, under one reviewer id or two. A rejection by any authorised reviewer ends the
  withdrawal.
- People, not ids (issue 22): a reviewer id stands for the real-name identity it is
  loaded with (``identity_id``); two ids with the same identity are one person. A
  reviewer without one (dev only: production ``load`` refuses it) is a person of its own.

*Interpretation:* four-eyes applies to withdrawals that need review at all (R17); an
original-route withdrawal without risk stays automatic (R16), whatever its amount.
"""

from __future__ import annotations

from collections.abc import Collection

from models.limits import APPROVALS_ABOVE_FOUR_EYES_THRESHOLD
from models.money import Money

REVIEWER = "reviewer"
SENIOR_REVIEWER = "senior_reviewer"
LEAD = "lead"
OPS = "ops"
DECIDING_ROLES = frozenset({REVIEWER, SENIOR_REVIEWER, LEAD})
CANCELLING_ROLES = frozenset({OPS, LEAD})  # a reviewer's cancel (CONTRACT.md)


def applicants(
    account_id: str, requested_by: str | None, master_account_id: str | None
) -> frozenset[str]:
    """The one definition of "the applicant" (R2, R17): the account, the account that
    applied for it, and its enterprise master account. Nobody in this set reviews the
    withdrawal; only they may cancel it by assertion."""
    return frozenset(i for i in (account_id, requested_by, master_account_id) if i)


def person_of(reviewer_id: str, identity_id: str | None) -> str:
    """Whom a reviewer id stands for: its real-name identity, else (dev) itself."""
    return f"identity {identity_id}" if identity_id else f"reviewer {reviewer_id}"


def approvals_required(amount: Money, needs_review: bool, threshold: Money) -> int:
    if needs_review and amount > threshold:
        return APPROVALS_ABOVE_FOUR_EYES_THRESHOLD
    return 1


def decision_problem(
    *,
    reviewer_id: str,
    role: str | None,
    conflicted: Collection[str | None],
    approving: bool,
    approved_by: Collection[str],
    same_person: bool = False,
    person: str | None = None,
    approved_people: Collection[str] = (),
) -> str | None:
    """Why this reviewer's decision cannot count, or None when it does. ``person`` and
    ``approved_people`` (``person_of``) make four-eyes count people, not ids."""
    if reviewer_id in conflicted:
        return "the applicant cannot review their own withdrawal"
    if same_person:
        return "the reviewer is the applicant under the same real name (R17)"
    if role is None:
        return "not a registered reviewer"
    if role not in DECIDING_ROLES:
        return f"role {role!r} may not decide withdrawals"
    if approving and reviewer_id in approved_by:
        return "already approved by this reviewer; four-eyes needs a different reviewer"
    if approving and person is not None and person in approved_people:
        # No identity in the words: they become a timeline note (the audit trail and the
        # decision list name the person).
        return (
            "already approved by the same person under another reviewer id; "
            "four-eyes needs a different person"
        )
    return None
