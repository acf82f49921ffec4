"""Reviewer administration (``starter.py reviewers``, issue 26): list, add, disable,
enable, reset a password.

The administrator is a reviewer with role ``ops`` or ``lead`` who has just signed in
(``application.reviews.authenticate``); the ledger checks that role again in the
transaction that makes the change and audits it with who did it (``ledger.reviewers``).
A refusal is audited first, then raised: ``RuleRefusal`` (exit 3). Passwords are hashed
here, outside the transaction (scrypt takes tens of milliseconds).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from application.reviews import AuthenticatedReviewer
from config import settings
from ledger import reviewers
from ledger.db import run_in_transaction, run_read_only
from ledger.reviewers import Administered, ReviewerView
from models.errors import InputError, RuleRefusal
from models.fixtures import FixtureReviewer
from models.passwords import MAX_PASSWORD_CHARS, hash_password

RULE = "R17"  # who may decide, and so who may make reviewers
MIN_PASSWORD_CHARS = 10  # a password an administrator sets; fixtures load their own


def list_reviewers(engine: Engine) -> list[ReviewerView]:
    return run_read_only(engine, reviewers.list_reviewers)


def add(
    engine: Engine,
    admin: AuthenticatedReviewer,
    new: FixtureReviewer,
    password: str,
    now: datetime,
) -> Administered:
    """A new reviewer; with ``WITHDRAWALS_ENV=production`` only with an ``identity_id``."""
    problem = reviewers.identity_problem(new.identity_id, "identity_id", settings.is_production())
    if problem is not None:
        raise problem.error()
    password_hash = _hashed(password)
    return _done(
        run_in_transaction(
            engine, reviewers.add_reviewer, new, password_hash, by=admin.reviewer_id, at=now
        )
    )


def set_enabled(
    engine: Engine, admin: AuthenticatedReviewer, reviewer_id: str, enabled: bool, now: datetime
) -> Administered:
    return _done(
        run_in_transaction(
            engine, reviewers.set_enabled, reviewer_id, enabled, by=admin.reviewer_id, at=now
        )
    )


def reset_password(
    engine: Engine, admin: AuthenticatedReviewer, reviewer_id: str, password: str, now: datetime
) -> Administered:
    password_hash = _hashed(password)
    return _done(
        run_in_transaction(
            engine,
            reviewers.reset_password,
            reviewer_id,
            password_hash,
            by=admin.reviewer_id,
            at=now,
        )
    )


def _hashed(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InputError(
            "password", f"{MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters expected"
        )
    return hash_password(password)


def _done(outcome: Administered) -> Administered:
    if outcome.refused is not None:  # audited in the committed transaction
        raise RuleRefusal(RULE, outcome.refused)
    return outcome
