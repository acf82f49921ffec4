"""The paths ``starter.py demo`` walks, one each, against the demo accounts of
``fixtures/demo.json``: what is asked for, what a reviewer does, how it must end.

Amounts are small and distinct rather than the balances being reloaded first: reloading
would put the demo balances back under withdrawals already paid, so the ledger and the
balance would disagree (see ``demo.data``); at a few yuan a run the demo accounts
last for hundreds of runs, and the failed, rejected and cancelled paths give their money
back (R19). The bad payees are the payout simulator's magic numbers
(``standins.magic_payees``), so a failure is shown without a real bank refusing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateways.payout import ReturnReason
from models.branches import payee_from_branch
from models.domain import DesignatedReason, Kind, Payee, Route, Status, WithdrawalRequest
from models.money import Money
from models.provider_reasons import ProviderReason
from models.returns import RETURN_REASON_TEXT
from standins.magic_payees import CLOSED_AFTER_ACCEPT_SUFFIX, RETURNED_ACCOUNT_SUFFIX

REJECTION_REASON = "demo: the proof does not match the payee"


class Review(StrEnum):
    NONE = "none"  # R16: automatic
    APPROVE = "approve"
    REJECT = "reject"

    @property
    def past(self) -> str:
        return {"none": "not reviewed", "approve": "approved", "reject": "rejected"}[self.value]


@dataclass(frozen=True)
class DemoPath:
    """One path: the request's parts, the reviewer's action and the expected end."""

    name: str
    title: str
    account_id: str
    amount: Money
    kind: Kind
    route: Route
    expected: Status
    order_id: str | None = None
    reason: DesignatedReason | None = None
    payee: Payee | None = None
    review: Review = Review.NONE
    cancel: bool = False  # cancel while the code is awaited, instead of entering it
    expected_reason: str | None = None

    @property
    def needs_proof(self) -> bool:
        return self.route.is_designated  # R9: a designated account comes with proof

    def request(self, withdrawal_id: str, proofs: list[str]) -> WithdrawalRequest:
        return WithdrawalRequest(
            withdrawal_id=withdrawal_id,
            account_id=self.account_id,
            amount=self.amount,
            kind=self.kind,
            route=self.route,
            order_id=self.order_id,
            reason=self.reason,
            payee=self.payee,
            proofs=proofs if self.needs_proof else [],
        )


# Made-up payees; the failing one ends in the simulator's "closed after acceptance" digits.
_PERSONAL_NAME = "演示-李四"
_ENTERPRISE_NAME = "演示科技有限公司"
_ALIPAY_PAYEE = Payee(account_number="lisi.demo@example.com", name=_PERSONAL_NAME)
_BANK_PAYEE = payee_from_branch("6222020200112233445", _PERSONAL_NAME, "ICBC-BJ-01")
_ENTERPRISE_PAYEE = payee_from_branch("3205018800001234567", _ENTERPRISE_NAME, "JSB-NJ-02")
_CLOSED_PAYEE = payee_from_branch(
    f"622588012345678{CLOSED_AFTER_ACCEPT_SUFFIX}", _PERSONAL_NAME, "CMB-SZ-01"
)
# Paid, then returned by the bank a nominal 30 days later (issue 25; seconds in the demo).
_RETURNING_PAYEE = payee_from_branch(
    f"622588012345678{RETURNED_ACCOUNT_SUFFIX}", _PERSONAL_NAME, "CMB-SZ-01"
)

PERSONAL = "acct-personal"
ALIPAY_ORDER = "R-P-ALIPAY"  # recent: its original route is open (R8)
EXPIRED_ORDER = "R-P-ICBC-OLD"  # ICBC personal online banking, past its 30 days (R8)

DEMO_PATHS: tuple[DemoPath, ...] = (
    DemoPath(
        name="auto_original",
        title="original route, no risk: automatic (R7, R16)",
        account_id=PERSONAL,
        amount=Money.yuan("1.00"),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id=ALIPAY_ORDER,
        expected=Status.SUCCEEDED,
    ),
    DemoPath(
        name="designated_alipay",
        title="designated Alipay account, limit passed, approved (R9, R17)",
        account_id=PERSONAL,
        amount=Money.yuan("2.00"),
        kind=Kind.RECHARGE,
        route=Route.ALIPAY,
        order_id=EXPIRED_ORDER,
        reason=DesignatedReason.LIMIT_PASSED,
        payee=_ALIPAY_PAYEE,
        review=Review.APPROVE,
        expected=Status.SUCCEEDED,
    ),
    DemoPath(
        name="bank_rejected",
        title="designated bank card, rejected in review (R9, R10, R18, R19)",
        account_id=PERSONAL,
        amount=Money.yuan("3.00"),
        kind=Kind.RECHARGE,
        route=Route.BANK,
        order_id=EXPIRED_ORDER,
        reason=DesignatedReason.LIMIT_PASSED,
        payee=_BANK_PAYEE,
        review=Review.REJECT,
        expected=Status.REJECTED,
        expected_reason=REJECTION_REASON,
    ),
    DemoPath(
        name="non_recharge",
        title="non-recharge application to a bank card, approved (R6, R17)",
        account_id="acct-ent-master",
        amount=Money.yuan("4.00"),
        kind=Kind.NON_RECHARGE,
        route=Route.BANK,
        payee=_ENTERPRISE_PAYEE,
        review=Review.APPROVE,
        expected=Status.SUCCEEDED,
    ),
    DemoPath(
        name="risk_review",
        title="same real name has an overdue debt: reviewed, approved (R17)",
        account_id="acct-risk",
        amount=Money.yuan("5.00"),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id="R-RISK-1",
        review=Review.APPROVE,
        expected=Status.SUCCEEDED,
    ),
    DemoPath(
        name="cancel",
        title="cancelled by the user before the code (R18, R19)",
        account_id=PERSONAL,
        amount=Money.yuan("6.00"),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id=ALIPAY_ORDER,
        cancel=True,
        expected=Status.CANCELLED,
    ),
    DemoPath(
        name="payout_failure",
        title="approved, then the receiving bank fails it; money comes back (R18, R19)",
        account_id=PERSONAL,
        amount=Money.yuan("7.00"),
        kind=Kind.RECHARGE,
        route=Route.BANK,
        order_id=EXPIRED_ORDER,
        reason=DesignatedReason.LIMIT_PASSED,
        payee=_CLOSED_PAYEE,
        review=Review.APPROVE,
        expected=Status.FAILED,
        # The provider's words, mapped to the vocabulary (models.provider_reasons).
        expected_reason=ProviderReason.ACCOUNT_CLOSED.value,
    ),
    DemoPath(
        name="returned",
        title="paid, then returned by the bank; money comes back once (issue 25)",
        account_id=PERSONAL,
        amount=Money.yuan("8.00"),
        kind=Kind.RECHARGE,
        route=Route.BANK,
        order_id=EXPIRED_ORDER,
        reason=DesignatedReason.LIMIT_PASSED,
        payee=_RETURNING_PAYEE,
        review=Review.APPROVE,
        expected=Status.RETURNED,
        expected_reason=RETURN_REASON_TEXT[ReturnReason.ACCOUNT_CLOSED],
    ),
)
