"""What a reviewer sees (R9, R17): the queue of withdrawals under review and one case.

The CLI's ``reviews`` command and the reviewer console read these and only format them,
so "how long it waited", "is it overdue", "why it needs review" and "how many approvals
it has" are worked out once. Only masked payee data leaves this module.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from application.records import entered_review, proofs_of, record_document
from config import settings
from ledger.db import read_only_session
from ledger.review_decisions import reviewer_person
from ledger.tables import Account, ReviewDecisionRecord, Withdrawal, WithdrawalEvent
from ledger.withdrawals import MAX_LIST_LIMIT, list_withdrawals
from models.authority import approvals_required
from models.domain import Status, WithdrawalStatusDoc
from models.limits import REVIEW_SLA_HOURS
from models.masks import mask_account_number, mask_name
from models.messages import ReviewDecisionKind
from models.money import Money

REASON_SEPARATOR = "; "  # how the workflow joins the R17 reasons in the timeline note
RECENT_WITHDRAWALS = 10  # the account's history shown beside a case


@dataclass(frozen=True)
class ReviewItem:
    """One withdrawal waiting for a reviewer, as the queue shows it."""

    id: str
    account_id: str
    amount: Money
    route: str
    kind: str
    order_id: str | None
    designated_reason: str | None  # R9
    review_reasons: list[str]  # R17: why review was required, as the workflow wrote it
    proofs: list[str]
    payee: str | None  # masked
    requested_by: str | None
    under_review_since: datetime
    age_seconds: int
    sla_due_at: datetime
    overdue: bool
    approvals: list[str]  # reviewers whose approval counted so far
    approvals_required: int

    def document(self) -> dict[str, Any]:
        """The ``reviews --json`` entry."""
        return {
            "id": self.id,
            "account_id": self.account_id,
            "amount": self.amount,
            "route": self.route,
            "kind": self.kind,
            "order_id": self.order_id,
            "designated_reason": self.designated_reason,
            "review_reasons": self.review_reasons,
            "proofs": self.proofs,
            "payee": self.payee,
            "requested_by": self.requested_by,
            "under_review_since": self.under_review_since,
            "age_seconds": self.age_seconds,
            "sla_due_at": self.sla_due_at,
            "overdue": self.overdue,
            "approvals": self.approvals,
            "approvals_required": self.approvals_required,
        }


def accepted_approvals(session: Session, withdrawal_ids: list[str]) -> dict[str, list[str]]:
    """The reviewers whose approval the workflow counted, per withdrawal (four-eyes)."""
    if not withdrawal_ids:
        return {}
    rows = session.exec(
        select(ReviewDecisionRecord)
        .where(
            col(ReviewDecisionRecord.withdrawal_id).in_(withdrawal_ids),
            ReviewDecisionRecord.accepted == True,  # noqa: E712 (SQL, not Python)
            ReviewDecisionRecord.decision == ReviewDecisionKind.APPROVE.value,
        )
        .order_by(col(ReviewDecisionRecord.id))
    ).all()
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.reviewer_id not in found[row.withdrawal_id]:
            found[row.withdrawal_id].append(row.reviewer_id)
    return found


def review_item(
    row: Withdrawal,
    entered: WithdrawalEvent | None,
    approvals: list[str],
    now: datetime,
    threshold: Money,
) -> ReviewItem:
    since = entered.at if entered is not None else row.created_at
    due = since + timedelta(hours=REVIEW_SLA_HOURS)
    reasons = entered.note.split(REASON_SEPARATOR) if entered is not None and entered.note else []
    amount = Money(row.amount_fen)
    return ReviewItem(
        id=row.id,
        account_id=row.account_id,
        amount=amount,
        route=row.route,
        kind=row.kind,
        order_id=row.order_id,
        designated_reason=row.designated_reason,
        review_reasons=reasons,
        proofs=proofs_of(row),
        payee=row.payee_masked,
        requested_by=row.requested_by,
        under_review_since=since,
        age_seconds=int((now - since).total_seconds()),
        sla_due_at=due,
        overdue=row.review_overdue or now > due,
        approvals=approvals,
        # The worker fixed this at open from the same setting (models.authority).
        approvals_required=approvals_required(amount, True, threshold),
    )


def waiting_for_review(
    engine: Engine, now: datetime, limit: int = MAX_LIST_LIMIT
) -> list[ReviewItem]:
    """Withdrawals under review, longest waiting first (R17)."""
    threshold = settings.four_eyes_threshold()
    with read_only_session(engine) as session:
        rows = list_withdrawals(session, status=Status.UNDER_REVIEW, limit=limit)
        ids = [row.id for row in rows]
        entered = entered_review(session, ids)
        approvals = accepted_approvals(session, ids)
    items = [
        review_item(row, entered.get(row.id), approvals.get(row.id, []), now, threshold)
        for row in rows
    ]
    items.sort(key=lambda item: item.under_review_since)
    return items


# ---- one case ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PayeeView:
    """R9/R10: the designated account, masked; the branch as the directory names it."""

    account: str
    name: str
    bank: str | None = None
    province: str | None = None
    city: str | None = None
    branch_name: str | None = None


@dataclass(frozen=True)
class DecisionView:
    at: datetime
    reviewer_id: str
    role: str | None
    decision: str
    accepted: bool
    why: str
    comment: str
    person: str = ""  # ``models.authority.person_of``: two ids of one identity, one person


@dataclass(frozen=True)
class RecentWithdrawal:
    id: str
    status: Status
    amount: Money
    route: str
    created_at: datetime
    reason: str | None


@dataclass
class ReviewCase:
    """Everything about one withdrawal a reviewer needs besides its live status."""

    row: Withdrawal
    account: Account | None
    payee: PayeeView | None
    proofs: list[str]
    review_reasons: list[str]
    under_review_since: datetime | None
    decisions: list[DecisionView] = field(default_factory=list)
    recent: list[RecentWithdrawal] = field(default_factory=list)

    @property
    def sla_due_at(self) -> datetime | None:
        if self.under_review_since is None:
            return None
        return self.under_review_since + timedelta(hours=REVIEW_SLA_HOURS)


def recorded_status(engine: Engine, withdrawal_id: str) -> WithdrawalStatusDoc | None:
    """The status document from the database record (when Temporal does not answer)."""
    with read_only_session(engine) as session:
        return record_document(session, withdrawal_id)


def _payee_view(payee_json: str | None) -> PayeeView | None:
    if not payee_json:
        return None
    data = json.loads(payee_json)
    return PayeeView(
        account=mask_account_number(str(data.get("account_number", ""))),
        name=mask_name(str(data.get("name", ""))),
        bank=data.get("bank"),
        province=data.get("province"),
        city=data.get("city"),
        branch_name=data.get("branch_name"),
    )


def review_case(engine: Engine, withdrawal_id: str) -> ReviewCase | None:
    """The record, masked payee, proofs, R17 reasons, decisions and the account's recent
    withdrawals (R20); None when there is no such withdrawal."""
    with read_only_session(engine) as session:
        row = session.get(Withdrawal, withdrawal_id)
        if row is None:
            return None
        entered = entered_review(session, [withdrawal_id]).get(withdrawal_id)
        decisions = session.exec(
            select(ReviewDecisionRecord)
            .where(ReviewDecisionRecord.withdrawal_id == withdrawal_id)
            .order_by(col(ReviewDecisionRecord.id))
        ).all()
        recent = list_withdrawals(session, account_id=row.account_id, limit=RECENT_WITHDRAWALS + 1)
        return ReviewCase(
            row=row,
            account=session.get(Account, row.account_id),
            payee=_payee_view(row.payee_json),
            proofs=proofs_of(row),
            review_reasons=(
                entered.note.split(REASON_SEPARATOR) if entered is not None and entered.note else []
            ),
            under_review_since=entered.at if entered is not None else None,
            decisions=[
                DecisionView(
                    at=d.at,
                    reviewer_id=d.reviewer_id,
                    role=d.role,
                    decision=d.decision,
                    accepted=d.accepted,
                    why=d.why,
                    comment=d.comment,
                    person=reviewer_person(session, d.reviewer_id),
                )
                for d in decisions
            ],
            recent=[
                RecentWithdrawal(
                    id=r.id,
                    status=r.status,
                    amount=Money(r.amount_fen),
                    route=r.route,
                    created_at=r.created_at,
                    reason=r.reason,
                )
                for r in recent
                if r.id != withdrawal_id
            ][:RECENT_WITHDRAWALS],
        )
