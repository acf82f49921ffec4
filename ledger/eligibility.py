"""Who may withdraw what, where (R1, R2, R5, R6, R8, R9, R10, R14, R17), read from the ledger.

The ``withdraw`` command runs this before starting a workflow, so a bad request is
refused before anything is frozen; ``open_withdrawal`` runs it again inside the
transaction that freezes the money, because only that one is authoritative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from config.holidays import calendar_for_estimates
from ledger import tables
from ledger.accounts import original_route_until, same_identity_overdue
from ledger.rows import flush_pending, read_row, table_of
from models.branches import branch_by_id
from models.business_days import ArrivalEstimate, expected_arrival
from models.domain import AccountStatus, Channel, Kind, Payee, Route, WithdrawalRequest
from models.errors import AccountNotEligible, InputError, NotFound, RouteNotAllowed
from models.payee import payee_problem
from models.review import designated_reason_problem, review_reasons

# Core look-ups, built once (issue 24; ``ledger.rows``): transient copies of the rows.
ACCOUNTS = table_of(tables.Account)
ORDERS = table_of(tables.RechargeOrder)
_ACCOUNT = select(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("key"))
_ORDER = select(ORDERS).where(ORDERS.c.id == bindparam("key"))


@dataclass(frozen=True)
class Eligibility:
    account: tables.Account
    order: tables.RechargeOrder | None
    review_reasons: list[str]
    arrival: ArrivalEstimate

    @property
    def channel(self) -> Channel | None:
        return self.order.channel if self.order else None


def check_eligibility(session: Session, request: WithdrawalRequest, now: datetime) -> Eligibility:
    """Raise a named ``RuleRefusal``/``InputError`` or say how the withdrawal proceeds.

    Amount limits (R12, R14) are checked by the ledger's reserve under the account lock.
    """
    flush_pending(session)
    account = read_row(session, _ACCOUNT, tables.Account, request.account_id)
    if account is None:
        raise NotFound("R1", f"unknown account {request.account_id}")
    _check_account(account, request)
    order = _check_order(session, account, request)
    deadline = original_route_until(order) if order is not None else None
    problem = designated_reason_problem(
        kind=request.kind,
        route=request.route,
        reason=request.reason,
        account_type=account.type,
        order_channel=order.channel if order else None,
        original_route_open=(now <= deadline) if deadline is not None else None,
        original_route_deadline=deadline,
    )
    if problem is not None:
        raise RouteNotAllowed(problem.rule, problem.why)
    payee_refusal = payee_problem(request.route, request.payee, request.proofs)
    if payee_refusal is not None:
        raise payee_refusal.error()
    if request.route is Route.BANK and request.payee is not None:
        _check_branch(request.payee)
    reasons = review_reasons(
        request.kind, request.route, same_identity_overdue(session, account.id)
    )
    channel = order.channel if order else None
    return Eligibility(
        account=account,
        order=order,
        review_reasons=reasons,
        # The package's calendar and HOLIDAYS_FILE: this runs in activities and the
        # pre-check, never in workflow code, so reading the file here is allowed.
        arrival=expected_arrival(request.route, channel, now, calendar_for_estimates()),
    )


def _check_branch(payee: Payee) -> None:
    """R10: a bank payee's bank, province, city and branch are the directory's entry for
    its branch id, whoever sent the request (the CLI fills them; a backend may not)."""
    branch = branch_by_id(payee.branch_id or "")
    if branch is None:
        raise InputError(
            "payee.branch_id",
            f"unknown branch {payee.branch_id!r}; choose it from the directory (R10)",
        )
    directory = {
        "bank": branch.bank,
        "province": branch.province,
        "city": branch.city,
        "branch_name": branch.name,
    }
    for field, expected in directory.items():
        if getattr(payee, field) != expected:
            raise InputError(
                f"payee.{field}",
                f"differs from the directory's entry for branch {branch.id} (R10): {expected!r}",
            )


def _check_account(account: tables.Account, request: WithdrawalRequest) -> None:
    if not account.real_name_verified:
        raise AccountNotEligible("R1", "the account has not passed real-name verification")
    if account.status != AccountStatus.NORMAL:
        raise AccountNotEligible("R1", f"the account is {account.status}")
    actor = request.actor
    if actor != account.id and actor != account.master_account_id:
        raise AccountNotEligible(
            "R2", "only the account itself or its enterprise master account may withdraw"
        )


def _check_order(
    session: Session, account: tables.Account, request: WithdrawalRequest
) -> tables.RechargeOrder | None:
    if request.kind is Kind.NON_RECHARGE:
        if request.order_id is not None:
            raise InputError("order", "a non-recharge application (R6) draws on no order")
        return None
    if request.order_id is None:
        raise InputError("order", "a recharge-based withdrawal (R5) names its order")
    order = read_row(session, _ORDER, tables.RechargeOrder, request.order_id)
    if order is None:
        raise NotFound("R5", f"unknown recharge order {request.order_id}")
    if order.account_id != account.id:
        raise AccountNotEligible("R5", f"order {order.id} belongs to another account")
    return order
