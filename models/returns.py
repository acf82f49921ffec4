"""The typed messages of a return after success (issue 25): what starts a return
workflow, what its activities answer, and the ops approval of a parked return."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from models.errors import RuleRefusal
from models.money import Money
from models.transfers import ReturnReason, Transfer

# A return workflow's id is this plus the withdrawal id: one return per withdrawal.
RETURN_WORKFLOW_ID_PREFIX = "return-"
# Its type, the name starters use (workflows/withdrawal_return.py is defined under it).
RETURN_WORKFLOW_TYPE = "WithdrawalReturnWorkflow"
# What people read for each provider reason (the withdrawal's ``reason`` once returned).
RETURN_REASON_TEXT: dict[ReturnReason, str] = {
    ReturnReason.ACCOUNT_CLOSED: "returned by the provider: the receiving account was closed",
    ReturnReason.NAME_MISMATCH: "returned by the provider: the payee name did not match",
    ReturnReason.CANNOT_RECEIVE: "returned by the provider: the account cannot receive",
    ReturnReason.OTHER: "returned by the provider",
}


def return_workflow_id(withdrawal_id: str) -> str:
    return f"{RETURN_WORKFLOW_ID_PREFIX}{withdrawal_id}"


class ReturnNotice(BaseModel):
    """Start a return: ``source`` says who noticed it (callback, reconcile, withdrawal)."""

    withdrawal_id: str
    source: str


class ReturnCheck(BaseModel):
    """The provider's record of a return, when it matches the withdrawal (key, amount,
    payee) and says ``returned``; otherwise why the return is not confirmed."""

    transfer: Transfer | None = None
    problem: str | None = None


class ReturnOutcome(StrEnum):
    CREDITED = "credited"  # the money is back in the balance and the order's remaining
    PARKED = "parked"  # the returned amount differs: ops credit it (credit-return)


class ReturnRecorded(BaseModel):
    outcome: ReturnOutcome
    reason: ReturnReason
    returned: Money
    credited: Money
    first: bool  # False: a duplicate found the return already recorded; nothing changed


class ReturnCreditVerdict(BaseModel):
    """One ops reviewer's ``credit-return``: recorded, and whether it credited the money."""

    accepted: bool
    credited: bool
    why: str
    reviewers: list[str] = []


class ReturnCreditRefused(RuleRefusal):
    """R19: a ``credit-return`` that does not count: not an enabled ops or lead, the
    applicant (by id or real name), the same person again, or more than the provider's
    record says came back; the verdict's ``why`` says which (audited)."""
