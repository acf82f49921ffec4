"""Request and response shapes of the HTTP API (the create body is ``WithdrawalCreate``,
shared with the CLI; the status document is the CLI's ``status --json`` document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ledger.documents import summary_fields
from ledger.tables import Withdrawal
from models.domain import Kind, Route, Status
from models.limits import CODE_DIGITS
from models.messages import CodeVerdict
from models.money import Money

# models.messages.CodeSubmission.problem's check, as the schema says it.
CODE_PATTERN = rf"^[0-9]{{{CODE_DIGITS}}}$"


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "123456"}]})

    code: StrictStr = Field(
        max_length=32,
        description=f"the {CODE_DIGITS} digits texted (R15)",
        json_schema_extra={"pattern": CODE_PATTERN},
    )


class CancelBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"by": "acct-personal"}]}
    )

    by: StrictStr | None = Field(
        default=None, max_length=64, description="who cancels: the account or its master (R2)"
    )


class CodeAnswer(BaseModel):
    """A wrong code is an answer, not an error: ``attempts_left`` says how many remain."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "w-1", "verdict": "wrong", "attempts_left": 4, "status": "awaiting_code"}
            ]
        }
    )

    id: str
    verdict: CodeVerdict
    attempts_left: int
    status: Status


class ResendAnswer(BaseModel):
    id: str
    sent_at: datetime
    expires_at: datetime


class WithdrawalSummary(BaseModel):
    """One withdrawal in a list: the record, no personal data (the payee masked)."""

    id: str
    account_id: str
    status: Status
    status_zh: str
    amount: Money
    route: Route
    kind: Kind
    order_id: str | None = None
    reason: str | None = None
    payee: str | None = None
    review_required: bool = False
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Withdrawal) -> WithdrawalSummary:
        return cls(**summary_fields(row), created_at=row.created_at, updated_at=row.updated_at)


class WithdrawalList(BaseModel):
    withdrawals: list[WithdrawalSummary]
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page; null on the last"
    )


class OrderRemainingOut(BaseModel):
    order_id: str
    amount: Money
    remaining: Money
    original_route_until: datetime


class WithdrawableDocument(BaseModel):
    """The ``withdrawable --json`` document: R11–R12 and each order's remainder (R5)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": "acct-r13",
                    "cash": "1000.00",
                    "transfer_in": "500.00",
                    "owed_invoice": "200.00",
                    "overdue": "300.00",
                    "unsettled": "200.00",
                    "payg_reserve": "100.00",
                    "debts": "700.00",
                    "uncovered_debts": "200.00",
                    "held": "0.00",
                    "not_withdrawable": "800.00",
                    "withdrawable": "200.00",
                    "orders": [],
                }
            ]
        }
    )

    account_id: str
    cash: Money
    transfer_in: Money
    owed_invoice: Money
    overdue: Money
    unsettled: Money
    payg_reserve: Money
    debts: Money
    uncovered_debts: Money
    held: Money
    not_withdrawable: Money
    withdrawable: Money
    orders: list[OrderRemainingOut]


class TransactionOut(BaseModel):
    id: int | None
    at: datetime
    type: str
    direction: str
    amount: Money
    balance_after: Money
    withdrawal_id: str | None
    note: str


class TransactionsDocument(BaseModel):
    account_id: str
    type: str | None
    since: datetime | None
    until: datetime | None
    count: int
    truncated: bool
    transactions: list[TransactionOut]


def model_of(model: type[BaseModel], document: dict[str, Any]) -> Any:
    return model.model_validate(document)
