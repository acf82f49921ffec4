"""Crediting a parked return (``credit-return``, issue 25), whatever face asks.

A return whose amount differs from the transfer is parked, never credited by guess. An
``ops`` or ``lead`` reviewer who has just signed in approves crediting it with an amount
and evidence, never more than the provider's record says came back; the money moves when a
second, different person approves the same amount, in one ledger transaction
(``ledger.returns.approve_credit``), audited either way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from application.reviews import AuthenticatedReviewer
from ledger.db import run_in_transaction
from ledger.returns import approve_credit
from models.money import Money
from models.returns import ReturnCreditVerdict

RULE = "R19"


def credit_parked_return(
    engine: Engine,
    reviewer: AuthenticatedReviewer,
    withdrawal_id: str,
    amount: Money,
    evidence: str,
    now: datetime,
) -> ReturnCreditVerdict:
    return run_in_transaction(
        engine,
        lambda session: approve_credit(
            session,
            withdrawal_id=withdrawal_id,
            reviewer_id=reviewer.reviewer_id,
            amount=amount,
            evidence=evidence,
            now=now,
        ),
    )
