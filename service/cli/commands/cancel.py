"""``cancel WITHDRAWAL_ID [--by USER]``: cancel before payout (R18 *beyond*, R19).

The workflow refuses once the payout is sent or the withdrawal has ended: exit 3 with why.
The frozen money returns to the withdrawable balance when it is cancelled (R19).
"""

from __future__ import annotations

import argparse

from application import withdrawals
from service.cli.command import Command, Context, Result
from service.cli.output import jsonable
from service.cli.records import status_text
from service.cli.temporal_calls import run_with_client


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID")
    parser.add_argument("--by", metavar="USER", help="who cancels (default: the applicant)")


def _run(args: argparse.Namespace, context: Context) -> Result:
    doc = run_with_client(
        lambda client: withdrawals.cancel(context.engine, client, args.withdrawal_id, args.by)
    )
    return Result(document=jsonable(doc), text=status_text(doc))


COMMAND = Command(
    name="cancel",
    help="cancel a withdrawal before it is paid out",
    configure=_configure,
    run=_run,
)
