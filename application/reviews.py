"""Reviewer authentication and signed decisions, for every face (CLI, console, API).

A face signs a reviewer in once (``authenticate``), then sends each decision with a
fresh proof (``send_decision``, ``cancel_as_reviewer``); ``resolve-payout`` and the
console issue proofs the same way (``issue_decision_proof``). The workflow's activity
verifies a proof with the public key only (``models.decision_proof``).

- Passwords are checked against a slow salted hash (``models.passwords``); five
  failures in a row lock the reviewer for 15 minutes; a disabled reviewer
  (``starter.py reviewers disable``) never signs in. Every attempt is audited; the
  answer to any failure is the same ``AuthenticationFailed`` ("authentication failed").
- A proof binds withdrawal, reviewer, decision, comment digest, issue time and a nonce,
  signed with ``REVIEW_SIGNING_KEY``; it is only issued to an ``AuthenticatedReviewer``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from sqlmodel import Session

from client.withdrawals import WithdrawalClient
from config import settings
from ledger import audit, tables
from ledger.db import run_in_transaction, run_read_only
from ledger.reviewers import may_stay_signed_in
from models import decision_proof
from models.domain import WithdrawalStatusDoc
from models.errors import AuthenticationFailed
from models.limits import LOGIN_LOCK_MINUTES, MAX_LOGIN_FAILURES
from models.messages import RecordedDecision, ReviewDecisionKind
from models.passwords import hash_password, password_matches

CANCEL = decision_proof.CANCEL
# Hashed when the reviewer is unknown, so the answer takes as long as for a known one.
_DECOY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AuthenticatedReviewer:
    """A reviewer who has just proved their password; only this is issued proofs."""

    reviewer_id: str
    name: str
    role: str
    authenticated_at: datetime


def authenticate(
    engine: Engine, reviewer_id: str, password: str, *, now: datetime | None = None
) -> AuthenticatedReviewer:
    """Check the password (raises ``AuthenticationFailed``), counting failures (R17).

    The failure count and the audit entry are committed before the refusal is raised, so
    a guesser cannot undo them by making the call fail.
    """
    at = now or datetime.now(UTC)
    result = run_in_transaction(engine, lambda s: _sign_in(s, reviewer_id, password, at))
    if result is None:
        raise AuthenticationFailed()
    return result


def _sign_in(
    session: Session, reviewer_id: str, password: str, at: datetime
) -> AuthenticatedReviewer | None:
    reviewer = session.get(tables.Reviewer, reviewer_id[:64], with_for_update=True)

    def record(outcome: str, detail: str) -> None:
        audit.append(
            session,
            actor=reviewer_id[:64],
            action="reviewer.sign_in",
            subject=reviewer_id[:64],
            outcome=outcome,
            detail=detail,
            at=at,
        )

    if reviewer is None or reviewer.password_hash is None:
        password_matches(password, _DECOY_HASH)
        record("refused", "unknown reviewer or no password set")
        return None
    if not reviewer.enabled:  # ``reviewers disable``; the hash still costs its time
        password_matches(password, reviewer.password_hash)
        record("refused", "reviewer disabled")
        return None
    if reviewer.locked_until is not None and reviewer.locked_until > at:
        record("refused", f"locked until {reviewer.locked_until.isoformat()}")
        return None
    if password_matches(password, reviewer.password_hash):
        reviewer.failed_logins, reviewer.locked_until = 0, None
        session.add(reviewer)
        record("accepted", f"role {reviewer.role}")
        return AuthenticatedReviewer(
            reviewer_id=reviewer.id, name=reviewer.name, role=reviewer.role, authenticated_at=at
        )
    reviewer.failed_logins += 1
    detail = f"wrong password, failure {reviewer.failed_logins} of {MAX_LOGIN_FAILURES}"
    if reviewer.failed_logins >= MAX_LOGIN_FAILURES:
        reviewer.locked_until = at + timedelta(minutes=LOGIN_LOCK_MINUTES)
        reviewer.failed_logins = 0
        detail += f"; locked for {LOGIN_LOCK_MINUTES} minutes"
    session.add(reviewer)
    record("refused", detail)
    return None


def still_signed_in(engine: Engine, reviewer: AuthenticatedReviewer) -> bool:
    """Whether a sign-in still stands: the reviewer is enabled and their password was not
    reset since (``ledger.reviewers.may_stay_signed_in``; the console asks on each request)."""
    return run_read_only(
        engine, may_stay_signed_in, reviewer.reviewer_id, reviewer.authenticated_at
    )


def issue_decision_proof(
    reviewer: AuthenticatedReviewer,
    withdrawal_id: str,
    decision: ReviewDecisionKind | str,
    comment: str = "",
    *,
    signing_key: Ed25519PrivateKey | None = None,
    now: datetime | None = None,
) -> str:
    """A signed proof (compact JWS, Ed25519) that ``reviewer`` decided ``decision`` on
    ``withdrawal_id`` with ``comment``; single-use, valid for a few minutes after issue.
    ``decision`` is ``approve``, ``reject`` or ``cancel``."""
    claims = decision_proof.DecisionClaims(
        wid=withdrawal_id,
        rid=reviewer.reviewer_id,
        dec=str(decision),
        cmt=decision_proof.comment_digest(comment),
        iat=int((now or datetime.now(UTC)).timestamp()),
        nonce=secrets.token_hex(16),
    )
    return decision_proof.sign(claims, signing_key or settings.review_signing_key())


async def send_decision(
    client: WithdrawalClient,
    reviewer: AuthenticatedReviewer,
    withdrawal_id: str,
    decision: ReviewDecisionKind,
    comment: str = "",
    *,
    signing_key: Ed25519PrivateKey | None = None,
    now: datetime | None = None,
) -> RecordedDecision | None:
    """Send an authenticated approve/reject and wait until the workflow weighed it
    (None: not weighed within ``client.withdrawals.DECISION_WAIT_SECONDS``). ``now`` is the
    issue time (default: the clock); tests on a time-skipping server pass its time."""
    proof = issue_decision_proof(
        reviewer, withdrawal_id, decision, comment, signing_key=signing_key, now=now
    )
    return await client.decide(withdrawal_id, decision, reviewer.reviewer_id, comment, proof=proof)


async def cancel_as_reviewer(
    client: WithdrawalClient,
    reviewer: AuthenticatedReviewer,
    withdrawal_id: str,
    *,
    signing_key: Ed25519PrivateKey | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> WithdrawalStatusDoc:
    """Cancel as an authenticated reviewer; the workflow's activity accepts only an
    ``ops`` or ``lead`` (raises ``WorkflowUpdateFailedError`` with the reason otherwise).
    With ``engine``, a refusal is audited here: the validator's leaves no history."""
    proof = issue_decision_proof(reviewer, withdrawal_id, CANCEL, signing_key=signing_key, now=now)

    def call() -> Awaitable[WithdrawalStatusDoc]:
        return client.cancel(withdrawal_id, reviewer_id=reviewer.reviewer_id, proof=proof)

    if engine is None:
        return await call()
    from application.withdrawals import audited_cancel

    return await audited_cancel(engine, withdrawal_id, reviewer.reviewer_id, call)
