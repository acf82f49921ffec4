"""Spending a signed decision proof: verified with the public key, counted once ever.

Every activity that acts on a reviewer's decision (review, cancel, resolve-payout) calls
``spend_decision_proof`` inside the transaction that records the decision, so a proof and
its effect commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ledger import tables
from models import decision_proof
from models.decision_proof import VerifyKeys


def spend_decision_proof(
    session: Session,
    proof: str | None,
    verify_key: VerifyKeys | None,
    *,
    withdrawal_id: str,
    reviewer_id: str,
    decision: str,
    comment: str,
    received_at: datetime,
    now: datetime,
) -> str | None:
    """Why the decision does not carry a valid proof, or None once its nonce is spent.

    The signature is checked with the public key the proof names (any listed key, while
    one is rotated); the claims must name this withdrawal,
    reviewer, decision and comment; freshness is judged at ``received_at`` (when the
    workflow received the decision); a nonce counts once, ever.
    """
    if proof is None:
        return "no proof of an authenticated reviewer (sign in: approve/reject)"
    keys = decision_proof.key_list(verify_key)
    if not keys:
        return "this worker has no REVIEW_VERIFY_KEY; no decision can be verified"
    try:
        claims = decision_proof.verify(proof, keys)
    except decision_proof.ProofError as error:
        return str(error)
    problem = decision_proof.claims_problem(
        claims,
        withdrawal_id=withdrawal_id,
        reviewer_id=reviewer_id,
        decision=decision,
        comment=comment,
        received_at=received_at,
    )
    if problem is not None:
        return problem
    if session.get(tables.SpentProofNonce, claims.nonce) is not None:
        return "proof already used"
    session.add(
        tables.SpentProofNonce(
            nonce=claims.nonce,
            withdrawal_id=withdrawal_id,
            reviewer_id=reviewer_id,
            decision=decision,
            spent_at=now,
        )
    )
    session.flush()  # a racing spend of the same nonce fails here, not later
    return None
