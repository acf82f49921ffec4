"""R16/R17 who reviews a withdrawal; R6/R8/R9 whether its route and reason fit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from models.domain import AccountType, Channel, DesignatedReason, Kind, Route
from models.review import (
    REVIEW_DESIGNATED_ACCOUNT,
    REVIEW_NON_RECHARGE,
    REVIEW_SAME_IDENTITY_OVERDUE,
    designated_reason_problem,
    review_reasons,
)

PERSONAL = AccountType.PERSONAL
ENTERPRISE = AccountType.ENTERPRISE
R = DesignatedReason
PERSONAL_CHANNELS = [Channel.ALIPAY, Channel.ONLINE_BANKING_PERSONAL, Channel.BANK_CARD]


# ---- R16/R17 -------------------------------------------------------------------------------
def test_r16_original_route_recharge_without_risk_needs_no_review() -> None:
    assert review_reasons(Kind.RECHARGE, Route.ORIGINAL, same_identity_overdue=False) == []


@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
def test_r17_designated_account_needs_review(route: Route) -> None:
    assert review_reasons(Kind.RECHARGE, route, False) == [REVIEW_DESIGNATED_ACCOUNT]


def test_r17_non_recharge_application_needs_review() -> None:
    assert review_reasons(Kind.NON_RECHARGE, Route.BANK, False) == [
        REVIEW_DESIGNATED_ACCOUNT,
        REVIEW_NON_RECHARGE,
    ]


def test_r17_overdue_debt_under_the_same_real_name_needs_review() -> None:
    assert review_reasons(Kind.RECHARGE, Route.ORIGINAL, True) == [REVIEW_SAME_IDENTITY_OVERDUE]


def test_r17_every_reason_is_listed_and_cites_the_rule() -> None:
    reasons = review_reasons(Kind.NON_RECHARGE, Route.ALIPAY, True)
    assert len(reasons) == 3
    assert all(reason.startswith("R17: ") for reason in reasons)
    assert "designated receiving account" in reasons[0]
    assert "non-recharge application" in reasons[1]
    assert "same real name has an overdue debt" in reasons[2]


# ---- R9 reasons matrix --------------------------------------------------------------------
def problem(
    *,
    kind: Kind = Kind.RECHARGE,
    route: Route = Route.BANK,
    reason: DesignatedReason | None = None,
    account_type: AccountType = PERSONAL,
    order_channel: Channel | None = Channel.ALIPAY,
    original_route_open: bool | None = True,
    original_route_deadline: datetime | None = None,
) -> str | None:
    """The refusal as it is shown ("R9: why"), or None."""
    found = designated_reason_problem(
        kind=kind,
        route=route,
        reason=reason,
        account_type=account_type,
        order_channel=order_channel,
        original_route_open=original_route_open,
        original_route_deadline=original_route_deadline,
    )
    return None if found is None else str(found)


ACCEPTED = [
    # limit_passed once the original route has closed, whatever the channel
    *(
        dict(reason=R.LIMIT_PASSED, order_channel=channel, original_route_open=False)
        for channel in Channel
    ),
    # payer_account_closed: always, the proof decides
    *(
        dict(reason=R.PAYER_ACCOUNT_CLOSED, order_channel=c, account_type=t, original_route_open=o)
        for c in Channel
        for t in AccountType
        for o in (True, False)
    ),
    # payer_enterprise_deregistered: paid by enterprise online banking
    *(
        dict(
            reason=R.PAYER_ENTERPRISE_DEREGISTERED,
            order_channel=Channel.ONLINE_BANKING_ENTERPRISE,
            account_type=t,
        )
        for t in AccountType
    ),
    # employee_reimbursed: an enterprise account, paid through a personal channel
    *(
        dict(reason=R.EMPLOYEE_REIMBURSED, order_channel=c, account_type=ENTERPRISE)
        for c in PERSONAL_CHANNELS
    ),
]


@pytest.mark.parametrize("case", ACCEPTED)
@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
def test_r9_fitting_reason_for_a_designated_account_is_accepted(
    case: dict[str, object], route: Route
) -> None:
    assert problem(route=route, **case) is None  # type: ignore[arg-type]


REFUSED = [
    pytest.param(dict(reason=None), "needs a reason", id="no-reason"),
    pytest.param(
        dict(reason=R.LIMIT_PASSED, original_route_open=True), "still open", id="limit-open"
    ),
    pytest.param(
        dict(reason=R.LIMIT_PASSED, original_route_open=None), "unknown", id="limit-unknown"
    ),
    *(
        pytest.param(
            dict(reason=R.PAYER_ENTERPRISE_DEREGISTERED, order_channel=c, account_type=ENTERPRISE),
            "enterprise online banking",
            id=f"deregistered-{c}",
        )
        for c in PERSONAL_CHANNELS
    ),
    *(
        pytest.param(
            dict(reason=R.EMPLOYEE_REIMBURSED, order_channel=c, account_type=PERSONAL),
            "enterprise account",
            id=f"reimbursed-personal-account-{c}",
        )
        for c in PERSONAL_CHANNELS
    ),
    pytest.param(
        dict(
            reason=R.EMPLOYEE_REIMBURSED,
            order_channel=Channel.ONLINE_BANKING_ENTERPRISE,
            account_type=ENTERPRISE,
        ),
        "personal channel",
        id="reimbursed-enterprise-channel",
    ),
]


@pytest.mark.parametrize(("case", "why"), REFUSED)
def test_r9_unfitting_reason_for_a_designated_account_is_refused(
    case: dict[str, object], why: str
) -> None:
    message = problem(**case)  # type: ignore[arg-type]
    assert message is not None
    assert message.startswith("R9: ")
    assert why in message
    assert "\n" not in message


@pytest.mark.parametrize("reason", list(DesignatedReason))
def test_r9_a_reason_with_the_original_route_is_refused(reason: DesignatedReason) -> None:
    message = problem(route=Route.ORIGINAL, reason=reason)
    assert message is not None
    assert message.startswith("R9: ")
    assert "original route needs none" in message


def test_r9_original_route_recharge_while_open_is_accepted() -> None:
    assert problem(route=Route.ORIGINAL, original_route_open=True) is None


def test_r8_original_route_after_its_deadline_is_refused_and_names_the_date() -> None:
    deadline = datetime(2026, 2, 14, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    message = problem(
        route=Route.ORIGINAL, original_route_open=False, original_route_deadline=deadline
    )
    assert message == (
        "R8: the original route closed on 2026-02-14T10:00:00+08:00; choose a designated "
        "receiving account with reason limit_passed"
    )


def test_r8_original_route_after_its_deadline_without_the_date_is_refused() -> None:
    message = problem(route=Route.ORIGINAL, original_route_open=False)
    assert message is not None
    assert message.startswith("R8: ")


def test_r6_non_recharge_application_on_the_original_route_is_refused() -> None:
    message = problem(kind=Kind.NON_RECHARGE, route=Route.ORIGINAL, order_channel=None)
    assert message is not None
    assert message.startswith("R9: ")
    assert "non-recharge" in message


@pytest.mark.parametrize("reason", [None, *DesignatedReason])
@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
def test_r6_non_recharge_application_to_a_designated_account_needs_no_reason(
    reason: DesignatedReason | None, route: Route
) -> None:
    assert (
        problem(
            kind=Kind.NON_RECHARGE,
            route=route,
            reason=reason,
            order_channel=None,
            original_route_open=None,
        )
        is None
    )
