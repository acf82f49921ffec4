"""``attention``: everything that needs a person now, most urgent first.

Reviews past their SLA (R17), payouts past their expected arrival (R7/R9), payouts with
an unknown outcome, webhook deliveries that gave up, reconcile mismatches (provider,
ledger and workflows disagree), a broken audit chain, and from 1 December a business-day
calendar missing for next year (or a ``HOLIDAYS_FILE`` that cannot be used). Exit
status **4 when anything is listed**, so it can run from cron; 0 when nothing is.
``--no-reconcile`` leaves out the comparison with the provider and Temporal (the
database checks alone).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cli.command import Command, Context, Result
from cli.output import jsonable, table
from client.connection import connect
from gateways.http_payout import payout_provider_from_env
from observability.attention import (
    AttentionItem,
    business_calendar_coverage,
    check_not_run,
    from_database,
    rank,
    reconcile_mismatches,
)
from reconcile.sources import gather, report_of

EXIT_NEEDS_ATTENTION = 4


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    parser.add_argument(
        "--no-reconcile",
        action="store_true",
        help="skip the comparison with the payout provider and Temporal",
    )


async def _reconcile(context: Context) -> list[AttentionItem]:
    try:
        client = await connect()
        sources = await gather(client, context.engine, payout_provider_from_env())
    except Exception as error:  # unreachable Temporal or provider: say so, as an item
        return [check_not_run("reconcile", error)]
    return reconcile_mismatches(report_of(sources))


def _document(items: list[AttentionItem]) -> dict[str, Any]:
    return {
        "count": len(items),
        "items": [
            {
                "kind": item.kind.value,
                "withdrawal_id": item.withdrawal_id,
                "since": item.since,
                "detail": item.detail,
            }
            for item in items
        ],
    }


def _text(items: list[AttentionItem]) -> str:
    if not items:
        return "nothing needs attention"
    rows = [
        [item.kind.value, item.withdrawal_id or "-", jsonable(item.since) or "-", item.detail]
        for item in items
    ]
    return table(rows, header=["kind", "withdrawal", "since", "detail"])


def _run(args: argparse.Namespace, context: Context) -> Result:
    items = from_database(context.engine, context.now())
    items += business_calendar_coverage(context.now())
    if not args.no_reconcile:
        items += asyncio.run(_reconcile(context))
    ranked = rank(items)
    return Result(
        document=_document(ranked),
        text=_text(ranked),
        exit_status=EXIT_NEEDS_ATTENTION if ranked else 0,
    )


COMMAND = Command(
    name="attention",
    help="what needs a person now, most urgent first (exit 4 if anything)",
    configure=_configure,
    run=_run,
)
