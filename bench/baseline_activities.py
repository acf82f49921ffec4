"""The baseline's activities: the real names and input types, and no work.

The review twin adds ``review_decision`` and ``review_verify_keys`` (no work), and checks
its code with ``check_code_under_review``, which tells the bench's reviewer that the
withdrawal waits (see ``CodeCourier``): since ``status-written-with-its-step`` the real
code check writes ``under_review`` itself.

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
from models.messages import CodeSubmission, ReviewerCheck

BASELINE_CODE = "000000"
REVIEW_INBOX_PREFIX = "review:"  # the review twin's queue: one simulator inbox per account


def review_inbox(account_id: str) -> str:
    return REVIEW_INBOX_PREFIX + account_id


@activity.defn(name="open_withdrawal")
async def open_withdrawal(request: WithdrawalRequest) -> None:
    return None


@activity.defn(name="check_code")
async def check_code(submission: CodeSubmission) -> bool:
    return True


@activity.defn(name="submit_payout")
async def submit_payout(request: WithdrawalRequest) -> None:
    return None


@activity.defn(name="settle")
async def settle(request: WithdrawalRequest) -> None:
    return None


@activity.defn(name="review_decision")
async def review_decision(check: ReviewerCheck) -> None:
    return None


@activity.defn(name="review_verify_keys")
async def review_verify_keys() -> None:
    return None


NO_OP_ACTIVITIES: list[Callable[..., Awaitable[Any]]] = [
    open_withdrawal,
    check_code,
    submit_payout,
    settle,
    review_decision,
    review_verify_keys,
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

    @activity.defn(name="check_code_under_review")
    async def check_code_under_review(self, request: WithdrawalRequest) -> bool:
        """The review twin's ``check_code``, which on the real path writes ``under_review``
        (``status-written-with-its-step``): where that write puts the withdrawal in the
        ledger's review queue, this puts it in the simulator's inbox the bench's reviewer
        reads (one HTTP call, no database)."""
        message = {
            "phone": review_inbox(request.account_id),
            "text": "under review",
            "idempotency_key": f"review-{request.withdrawal_id}",
        }
        response = await self._http.post(self._messages_url, json=message)
        response.raise_for_status()
        return True
