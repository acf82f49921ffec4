"""Who reviews a withdrawal (R16/R17) and whether its designated-account reason fits (R9).

*Interpretation* of R9, since the help page only lists the reasons:

- The original route needs no reason; a reason sent with it is a mistake, not a no-op.
- A recharge-based withdrawal to a designated account needs exactly one reason, and the
  reason must fit the order:
  - ``limit_passed`` only once the order's original route has closed (R8);
  - ``payer_account_closed`` always fits: the proof material decides, in review;
  - ``payer_enterprise_deregistered`` only for an order paid by enterprise online banking;
  - ``employee_reimbursed`` only for an enterprise account whose order was paid through a
    personal channel (Alipay, personal online banking, bank card).
- A non-recharge application (R6) always goes to a designated account; it has no order
  to check a reason against, so a reason is optional and any listed reason is accepted.
- A recharge-based withdrawal on the original route after its R8 deadline is refused
  with an R8 message that points to ``limit_passed``.
"""

from __future__ import annotations

from datetime import datetime

from models.domain import AccountType, Channel, DesignatedReason, Kind, Route
from models.errors import RuleProblem

REVIEW_DESIGNATED_ACCOUNT = "R17: designated receiving account (R9)"
REVIEW_NON_RECHARGE = "R17: non-recharge application (R6)"
REVIEW_SAME_IDENTITY_OVERDUE = "R17: an account under the same real name has an overdue debt"

PERSONAL_CHANNELS = frozenset({Channel.ALIPAY, Channel.ONLINE_BANKING_PERSONAL, Channel.BANK_CARD})
REASON_CHOICES = ", ".join(r.value for r in DesignatedReason)


def review_reasons(kind: Kind, route: Route, same_identity_overdue: bool) -> list[str]:
    """R17: why a person must review this withdrawal; empty means automatic (R16)."""
    reasons: list[str] = []
    if route.is_designated:
        reasons.append(REVIEW_DESIGNATED_ACCOUNT)
    if kind == Kind.NON_RECHARGE:
        reasons.append(REVIEW_NON_RECHARGE)
    if same_identity_overdue:  # funds carry risk
        reasons.append(REVIEW_SAME_IDENTITY_OVERDUE)
    return reasons


def designated_reason_problem(
    *,
    kind: Kind,
    route: Route,
    reason: DesignatedReason | None,
    account_type: AccountType,
    order_channel: Channel | None,
    original_route_open: bool | None,
    original_route_deadline: datetime | None = None,
) -> RuleProblem | None:
    """R6/R8/R9: None when route and reason fit, else the rule that refuses and why."""
    if kind == Kind.NON_RECHARGE:
        if not route.is_designated:
            return RuleProblem(
                "R9", "a non-recharge application (R6) must go to a designated receiving account"
            )
        return None
    if not route.is_designated:
        return _original_route_problem(reason, original_route_open, original_route_deadline)
    if reason is None:
        return RuleProblem(
            "R9", f"a designated receiving account needs a reason, one of {REASON_CHOICES}"
        )
    return _reason_fit_problem(reason, account_type, order_channel, original_route_open)


def _original_route_problem(
    reason: DesignatedReason | None,
    original_route_open: bool | None,
    deadline: datetime | None,
) -> RuleProblem | None:
    if reason is not None:
        return RuleProblem(
            "R9",
            f"reason {reason} is only for a designated receiving account; "
            "the original route needs none",
        )
    if original_route_open is False:
        when = f"closed on {deadline.isoformat()}" if deadline else "has passed its time limit"
        return RuleProblem(
            "R8",
            f"the original route {when}; choose a designated receiving account "
            f"with reason {DesignatedReason.LIMIT_PASSED.value}",
        )
    return None


def _reason_fit_problem(
    reason: DesignatedReason,
    account_type: AccountType,
    order_channel: Channel | None,
    original_route_open: bool | None,
) -> RuleProblem | None:
    paid_by = str(order_channel) if order_channel else "an unknown channel"
    if reason == DesignatedReason.LIMIT_PASSED:
        if original_route_open is None:
            return RuleProblem(
                "R9", "limit_passed needs the order's original-route deadline, which is unknown"
            )
        if original_route_open:
            return RuleProblem(
                "R9", "limit_passed, but the order's original route is still open (R8)"
            )
        return None
    if reason == DesignatedReason.PAYER_ENTERPRISE_DEREGISTERED:
        if order_channel != Channel.ONLINE_BANKING_ENTERPRISE:
            return RuleProblem(
                "R9",
                "payer_enterprise_deregistered fits only an order paid by enterprise "
                f"online banking; this one was paid by {paid_by}",
            )
        return None
    if reason == DesignatedReason.EMPLOYEE_REIMBURSED:
        if account_type != AccountType.ENTERPRISE:
            return RuleProblem("R9", "employee_reimbursed fits only an enterprise account")
        if order_channel not in PERSONAL_CHANNELS:
            return RuleProblem(
                "R9",
                "employee_reimbursed fits only an order an employee paid through a "
                f"personal channel; this one was paid by {paid_by}",
            )
        return None
    return None  # payer_account_closed: the proof material decides, in review
