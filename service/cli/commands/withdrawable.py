"""``withdrawable ACCOUNT``: the R11–R12 breakdown and each recharge order's remainder (R5)."""

from __future__ import annotations

import argparse
from typing import Any

from ledger.accounts import OrderRemaining, balance_breakdown, orders_with_remaining
from ledger.db import session_scope
from models.rules import Breakdown
from service.cli.command import Command, Context, Result
from service.cli.output import jsonable, table

# The docs/interface.md fields, in the order the R12 formula reads.
BREAKDOWN_FIELDS = (
    "cash",
    "transfer_in",
    "owed_invoice",
    "overdue",
    "unsettled",
    "payg_reserve",
    "debts",
    "uncovered_debts",
    "held",
    "not_withdrawable",
    "withdrawable",
)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", metavar="ACCOUNT", help="account id")


def _document(
    account_id: str, breakdown: Breakdown, orders: list[OrderRemaining]
) -> dict[str, Any]:
    document: dict[str, Any] = {"account_id": account_id}
    document.update({name: getattr(breakdown, name) for name in BREAKDOWN_FIELDS})
    document["orders"] = orders
    return document


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
    now = context.now()
    with session_scope(context.engine) as session:
        breakdown = balance_breakdown(session, args.account, now)
        orders = orders_with_remaining(session, args.account, now)
    return Result(
        document=_document(args.account, breakdown, orders),
        text=_text(args.account, breakdown, orders),
    )


COMMAND = Command(
    name="withdrawable",
    help="what an account can withdraw, and from which recharge orders",
    configure=_configure,
    run=_run,
)
