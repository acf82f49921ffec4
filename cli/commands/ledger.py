"""``ledger verify``: recompute every balance from its entries (exit 4 on a mismatch).

Cash = opening + adjustments − withdrawal debits; held = the holds still ``held``; per
recharge order, withdrawn and held likewise (R5, R12).
"""

from __future__ import annotations

import argparse
import sys

from cli.command import Command, Context, Result
from ledger.db import read_only_session
from ledger.verify import verify_ledger

EXIT_LEDGER_MISMATCH = 4


def _configure(parser: argparse.ArgumentParser) -> None:
    # One positional, not nested subparsers: the global --json/--debug stay accepted after it.
    parser.add_argument(
        "ledger_action",
        choices=["verify"],
        metavar="ACTION",
        help="verify: recompute every balance from its entries (exit 4 on a mismatch)",
    )


def _run(args: argparse.Namespace, context: Context) -> Result:
    with read_only_session(context.engine) as session:
        found = verify_ledger(session)
    document = {
        "ok": found.ok,
        "accounts": found.accounts,
        "orders": found.orders,
        "entries": found.entries,
        "problems": [
            {
                "subject": p.subject,
                "figure": p.figure.removesuffix("_fen"),
                "recorded": str(p.recorded),
                "recomputed": str(p.recomputed),
            }
            for p in found.problems
        ],
    }
    summary = f"{found.accounts} accounts, {found.orders} orders, {found.entries} entries"
    if found.ok:
        return Result(document=document, text=f"ledger adds up: {summary}")
    for problem in found.problems:
        print(f"ledger: {problem.text}", file=sys.stderr)
    text = "\n".join(p.text for p in found.problems) + f"\n({summary})"
    return Result(document=document, text=text, exit_status=EXIT_LEDGER_MISMATCH)


COMMAND = Command(
    name="ledger",
    help="verify the ledger: every balance recomputed from its entries",
    configure=_configure,
    run=_run,
)
