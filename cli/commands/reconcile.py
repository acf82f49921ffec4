"""``reconcile``: compare the payout provider, the ledger and the open workflows.

Prints every mismatch (``reconcile.compare`` says what each kind means) and a summary.
Exit status: 0 when everything agrees; **4 when any mismatch was found** (the document
or table is printed either way, so a script can read the findings); 1 when a source
could not be read (Temporal, the provider or the database unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cli.command import Command, Context, Result
from cli.output import table
from client.connection import connect
from config import settings
from gateways.http_payout import payout_provider_from_env
from reconcile.compare import Report
from reconcile.sources import gather, report_of, start_missing_returns

EXIT_MISMATCH = 4  # the command ran; the books disagree


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Every disagreement between provider transfers, ledger holds and records, and "
        f"running workflows. Exit status {EXIT_MISMATCH} if any, 0 if none."
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="start the return of every transfer the provider returned that the ledger "
        "has not credited (a lost callback); nothing else",
    )


async def _report(context: Context) -> Report:
    client = await connect()
    return report_of(await gather(client, context.engine, payout_provider_from_env()))


async def _start_returns(report: Report) -> list[str]:
    """``--fix``: the returns the provider listed and the ledger lacks, started."""
    if not report.returns_to_start:
        return []
    return await start_missing_returns(await connect(), settings.task_queue(), report)


def _summary(report: Report) -> dict[str, Any]:
    return {
        "clean": report.clean,
        "mismatches": len(report.mismatches),
        "by_kind": report.by_kind(),
        "in_flight": len(report.in_flight),
        "transfers": report.transfers,
        "holds": report.holds,
        "withdrawals": report.records,
        "open_workflows": report.open_workflows,
    }


def _document(report: Report, started: list[str]) -> dict[str, Any]:
    return {
        "returns_started": started,
        "summary": _summary(report),
        "mismatches": [
            {"kind": m.kind.value, "withdrawal_id": m.withdrawal_id, "detail": m.detail}
            for m in report.mismatches
        ],
        "in_flight": report.in_flight,
        "notes": report.notes,
    }


def _text(report: Report, started: list[str]) -> str:
    lines = [f"started the return of {withdrawal_id}" for withdrawal_id in started]
    if report.mismatches:
        rows = [[m.kind.value, m.withdrawal_id, m.detail] for m in report.mismatches]
        lines += [table(rows, header=["mismatch", "withdrawal", "detail"]), ""]
    lines += [f"note: {note}" for note in report.notes]
    verdict = "clean" if report.clean else f"{len(report.mismatches)} mismatches"
    lines.append(
        f"{verdict}: {report.transfers} provider transfers, {report.holds} holds, "
        f"{report.records} withdrawals, {report.open_workflows} running workflows, "
        f"{len(report.in_flight)} paid and settling"
    )
    return "\n".join(lines)


def _run(args: argparse.Namespace, context: Context) -> Result:
    report = asyncio.run(_report(context))
    started = asyncio.run(_start_returns(report)) if args.fix else []
    return Result(
        document=_document(report, started),
        text=_text(report, started),
        exit_status=0 if report.clean else EXIT_MISMATCH,
    )


COMMAND = Command(
    name="reconcile",
    help=f"compare provider, ledger and workflows (exit {EXIT_MISMATCH} on any mismatch)",
    configure=_configure,
    run=_run,
)
