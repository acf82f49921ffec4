"""``sms-inbox --account A``: what the SMS simulator delivered to the account's phone (R15).

The simulator only: a real SMS gateway keeps no inbox. The phone number comes from the
account's record and is shown masked; ``--json`` is a list, newest first, of
``{at, text, code}``.
"""

from __future__ import annotations

import argparse
import asyncio

from application.records import when
from cli.command import Command, Context, Result
from cli.errors import fail
from cli.output import table
from gateways.http_sms import sms_provider_from_env
from gateways.sms import SmsError
from gateways.sms_messages import InboxMessage
from ledger.accounts import get_account
from ledger.db import read_only_session
from models.masks import mask_phone

INBOX_LIMIT_MESSAGES = 20


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True, metavar="A", help="account id")
    parser.add_argument(
        "--limit", type=int, default=INBOX_LIMIT_MESSAGES, help="newest messages to show"
    )


def _text(phone: str, messages: list[InboxMessage]) -> str:
    if not messages:
        return f"no messages for {mask_phone(phone)}"
    rows = [[when(m.at), m.code or "", m.text] for m in messages]
    return f"messages for {mask_phone(phone)}, newest first\n" + table(
        rows, header=["at", "code", "text"]
    )


def _run(args: argparse.Namespace, context: Context) -> Result:
    with read_only_session(context.engine) as session:
        phone = get_account(session, args.account).security_phone
    provider = sms_provider_from_env()
    try:
        messages = asyncio.run(provider.inbox(phone, limit=args.limit))
    except SmsError as error:
        fail(
            f"cannot read the SMS simulator at {provider.base_url}: {error}; is `make run` running?"
        )
    return Result(document=messages, text=_text(phone, messages))


COMMAND = Command(
    name="sms-inbox",
    help="the SMS simulator's messages to an account's security phone",
    configure=_configure,
    run=_run,
)
