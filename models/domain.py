"""Shapes that cross boundaries: Temporal payloads, CLI documents, fixtures.

These are pydantic models (serialised by ``pydantic_data_converter``); database tables
live in ``ledger.tables`` and never leave the activities.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.masks import mask_account_number
from models.money import Money

# A withdrawal's workflow id is this plus its id: the client starts it so, logs and
# reconciliation read the withdrawal id back out of it.
WORKFLOW_ID_PREFIX = "withdrawal-"


class Status(StrEnum):
    """R18 statuses, plus the *beyond* ones before submission and ``cancelled``."""

    VERIFYING = "verifying"
    AWAITING_CODE = "awaiting_code"
    UNDER_REVIEW = "under_review"
    REJECTED = "rejected"
    APPROVED_AWAITING_PAYOUT = "approved_awaiting_payout"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # Paid, then the provider sent the money back (issue 25; R18 amended in
    # docs/rules.md): the one change a succeeded withdrawal can make.
    RETURNED = "returned"

    @property
    def label_zh(self) -> str:
        return STATUS_LABELS_ZH[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


STATUS_LABELS_ZH: dict[Status, str] = {
    Status.VERIFYING: "校验中",
    Status.AWAITING_CODE: "待输入验证码",
    Status.UNDER_REVIEW: "审批中",
    Status.REJECTED: "审批拒绝",
    Status.APPROVED_AWAITING_PAYOUT: "业务执行成功,待打款",
    Status.SUCCEEDED: "提现成功",
    Status.FAILED: "提现失败",
    Status.CANCELLED: "已取消",
    Status.RETURNED: "退回",
}
FINAL_STATUSES = frozenset(
    {Status.REJECTED, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.RETURNED}
)
# R18 *beyond* (issue 25): a final status never changes, except that a succeeded payout the
# provider later returned becomes ``returned``.
FINAL_STATUS_CHANGES = frozenset({(Status.SUCCEEDED, Status.RETURNED)})


class Route(StrEnum):
    ORIGINAL = "original"
    ALIPAY = "alipay"
    BANK = "bank"

    @property
    def is_designated(self) -> bool:
        return self is not Route.ORIGINAL


class Kind(StrEnum):
    RECHARGE = "recharge"  # R5
    NON_RECHARGE = "non_recharge"  # R6


class DesignatedReason(StrEnum):
    """R9: the only reasons a designated receiving account is allowed."""

    LIMIT_PASSED = "limit_passed"
    PAYER_ACCOUNT_CLOSED = "payer_account_closed"
    PAYER_ENTERPRISE_DEREGISTERED = "payer_enterprise_deregistered"
    EMPLOYEE_REIMBURSED = "employee_reimbursed"


class AccountType(StrEnum):
    PERSONAL = "personal"
    ENTERPRISE = "enterprise"


class AccountStatus(StrEnum):
    NORMAL = "normal"
    FROZEN = "frozen"
    CLOSED = "closed"


class Channel(StrEnum):
    ALIPAY = "alipay"
    ONLINE_BANKING_PERSONAL = "online_banking_personal"
    ONLINE_BANKING_ENTERPRISE = "online_banking_enterprise"
    BANK_CARD = "bank_card"


class Payee(BaseModel):
    """R9 designated receiving account. Personal data: never in ids, attributes or logs."""

    model_config = ConfigDict(frozen=True)

    account_number: str
    name: str
    branch_id: str | None = None  # R10: bank payees are filled from the branch directory
    bank: str | None = None
    province: str | None = None
    city: str | None = None
    branch_name: str | None = None

    @property
    def masked(self) -> str:
        return mask_account_number(self.account_number)


class WithdrawalRequest(BaseModel):
    """What a backend asks for. ``withdrawal_id`` is the idempotency key everywhere."""

    model_config = ConfigDict(frozen=True)

    withdrawal_id: str
    account_id: str
    amount: Money
    kind: Kind
    route: Route = Route.ORIGINAL
    order_id: str | None = None  # required for Kind.RECHARGE (R5)
    reason: DesignatedReason | None = None  # required for a designated route (R9)
    payee: Payee | None = None
    proofs: list[str] = Field(default_factory=list)  # content hashes of stored proof files
    requested_by: str | None = None  # the acting account (itself, or its master account, R2)

    @property
    def actor(self) -> str:
        return self.requested_by or self.account_id


class TimelineEntry(BaseModel):
    at: datetime
    status: Status
    note: str = ""


class WithdrawalStatusDoc(BaseModel):
    """The docs/interface.md ``status --json`` document."""

    id: str
    account_id: str
    status: Status
    status_zh: str
    amount: Money
    route: Route
    kind: Kind
    order_id: str | None = None
    reason: str | None = None
    payee: str | None = None  # masked
    review_required: bool = False
    review_overdue: bool = False
    code_attempts_left: int | None = None
    expected_arrival: datetime | None = None
    # The estimate ends in a year whose holidays neither the calendar package nor
    # HOLIDAYS_FILE covers (counted Monday to Friday): set when the document is read
    # (application.records.with_calendar_check), never stored, so it clears once ops add
    # the year.
    expected_arrival_provisional: bool = False
    provider_reference: str | None = None
    approvals: list[str] = Field(default_factory=list)
    approvals_required: int = 1  # two different reviewers above the four-eyes threshold
    # The payout's outcome is unknown: the money stays held until the provider answers or
    # ``resolve-payout`` ends it (never released on a guess).
    payout_unknown: bool = False
    payout_callbacks_ignored: int = 0  # callbacks not acted on (before submit, disagreeing)
    timeline: list[TimelineEntry] = Field(default_factory=list)
