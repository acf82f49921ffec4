"""The baseline's activities: the real names and input types, and no work.

One does one thing: ``send_code`` hands a fixed code to the SMS simulator (inbox keyed by
the account id) over one kept-open connection. Without it the client would submit the
code before the workflow waits for it; the update would then ride in an earlier workflow
task and the baseline would run one workflow task fewer than the real path, a different
shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from temporalio import activity

from models.domain import WithdrawalRequest
from models.messages import CodeSubmission

BASELINE_CODE = "000000"


@activity.defn(name="open_withdrawal")
async def open_withdrawal(request: WithdrawalRequest) -> None:
    return None


@activity.defn(name="check_code")
async def check_code(submission: CodeSubmission) -> bool:
    return True


@activity.defn(name="record_status")
async def record_status(request: WithdrawalRequest) -> None:
    return None


@activity.defn(name="submit_payout")
async def submit_payout(request: WithdrawalRequest) -> None:
    return None


@activity.defn(name="settle")
async def settle(request: WithdrawalRequest) -> None:
    return None


NO_OP_ACTIVITIES: list[Callable[..., Awaitable[Any]]] = [
    open_withdrawal,
    check_code,
    record_status,
    submit_payout,
    settle,
]


class CodeCourier:
    """The baseline's ``send_code``: a fixed code to the simulator, no database."""

    def __init__(self, sms_url: str, http: httpx.AsyncClient) -> None:
        self._messages_url = sms_url.rstrip("/") + "/messages"
        self._http = http

    @activity.defn(name="send_code")
    async def send_code(self, request: WithdrawalRequest) -> None:
        message = {
            "phone": request.account_id,
            "text": f"Your withdrawal verification code is {BASELINE_CODE}.",
            "idempotency_key": request.withdrawal_id,
        }
        response = await self._http.post(self._messages_url, json=message)
        response.raise_for_status()
