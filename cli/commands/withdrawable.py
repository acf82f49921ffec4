"""``withdrawable ACCOUNT``: the R11–R12 breakdown and each recharge order's remainder (R5)."""

from __future__ import annotations

import argparse

from application.accounts import BREAKDOWN_FIELDS, withdrawable
from cli.command import Command, Context, Result
from cli.output import jsonable, table
from ledger.accounts import OrderRemaining
from models.rules import Breakdown


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", metavar="ACCOUNT", help="account id")


def _text(account_id: str, breakdown: Breakdown, orders: list[OrderRemaining]) -> str:
    rows = [[name, str(getattr(breakdown, name))] for name in BREAKDOWN_FIELDS]
    text = f"account {account_id}\n" + table(rows)
    if orders:
        order_rows = [
            [o.order_id, str(o.amount), str(o.remaining), jsonable(o.original_route_until)]
            for o in orders
        ]
        header = ["order", "amount", "remaining", "original route until"]
        text += "\n\n" + table(order_rows, header=header)
    return text


def _run(args: argparse.Namespace, context: Context) -> Result:
    found = withdrawable(context.engine, args.account, context.now())
    return Result(
        document=found.document(),
        text=_text(args.account, found.breakdown, found.orders),
    )


COMMAND = Command(
    name="withdrawable",
    help="what an account can withdraw, and from which recharge orders",
    configure=_configure,
    run=_run,
)
