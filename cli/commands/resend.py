"""``resend WITHDRAWAL_ID``: text a new verification code (R15).

Re-sends are throttled by the workflow; a refusal is exit 3 with its reason, e.g.
``R15: a new code can be sent in 42 seconds``.
"""

from __future__ import annotations

import argparse

from application import withdrawals
from application.records import when
from cli.command import Command, Context, Result
from cli.temporal_calls import run_with_client


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")


def _run(args: argparse.Namespace, context: Context) -> Result:
    sent = run_with_client(
        lambda client: withdrawals.resend(context.engine, client, args.withdrawal_id)
    )
    document = {"id": args.withdrawal_id, "sent_at": sent.sent_at, "expires_at": sent.expires_at}
    text = (
        f"a new code was texted; it replaces the previous one and is valid until "
        f"{when(sent.expires_at)}: starter.py code {args.withdrawal_id} CODE"
    )
    return Result(document=document, text=text)


COMMAND = Command(
    name="resend",
    help="text a new verification code for a withdrawal",
    configure=_configure,
    run=_run,
)
