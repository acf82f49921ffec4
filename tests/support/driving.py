"""Bringing a withdrawal to a state many tests start from, written once."""

from __future__ import annotations

from typing import Any

from models.domain import DesignatedReason, Route, Status
from tests.workflows.harness import Stack, bank_payee


async def reviewed_bank_withdrawal(
    stack: Stack, amount: str = "200.00", withdrawal_id: str | None = None, **fields: Any
) -> str:
    """Start a designated bank withdrawal for acct-auto (R6: reviewed), verify its code,
    and wait until it is under review; its id."""
    wid = await stack.start(
        withdrawal_id=withdrawal_id,
        amount=amount,
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=fields.pop("payee", None) or bank_payee(),
        **fields,
    )
    await stack.verify(wid, "acct-auto")
    await stack.wait_status(wid, Status.UNDER_REVIEW)
    return wid
