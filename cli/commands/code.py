"""``code WITHDRAWAL_ID CODE``: submit the SMS verification code (R15).

Prints ``verified``, or ``wrong`` with the attempts left (exit 0: the workflow answered).
A code that is not six digits is bad input (exit 2) and never reaches the workflow; a
refused submission (no code awaited, no attempts left) is exit 3 with the workflow's reason.
"""

from __future__ import annotations

import argparse

from application import withdrawals
from application.records import status_label
from cli.command import Command, Context, Result
from cli.temporal_calls import run_with_client
from models.domain import Status
from models.messages import CodeResult, CodeVerdict


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    parser.add_argument("code", metavar="CODE", help="the code texted to the security phone")


def _text(withdrawal_id: str, result: CodeResult) -> str:
    if result.verdict is CodeVerdict.VERIFIED:
        return (
            f"verified: withdrawal {withdrawal_id} goes ahead "
            f"(follow it with: starter.py status {withdrawal_id})"
        )
    if result.verdict is CodeVerdict.EXPIRED:
        return (
            "expired: the code is no longer valid; ask for a new one: "
            f"starter.py resend {withdrawal_id}"
        )
    left = result.attempts_left
    after = "the withdrawal is cancelled" if left <= 0 else f"{left} attempts left"
    return f"wrong code: {after} (status {status_label(result.status)})"


def _run(args: argparse.Namespace, context: Context) -> Result:
    result = run_with_client(
        lambda client: withdrawals.submit_code(
            context.engine, client, args.withdrawal_id, args.code
        )
    )
    document = {
        "id": args.withdrawal_id,
        "verdict": result.verdict,
        "verified": result.verdict is CodeVerdict.VERIFIED,
        "attempts_left": result.attempts_left,
        "status": result.status,
        "status_zh": Status(result.status).label_zh,
    }
    return Result(document=document, text=_text(args.withdrawal_id, result))


COMMAND = Command(
    name="code",
    help="submit the SMS verification code of a withdrawal",
    configure=_configure,
    run=_run,
)
