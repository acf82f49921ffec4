"""``load FILE.json``: upsert accounts, orders, pay-as-you-go resources and reviewers.

The whole file is validated before anything is written, and written in one transaction,
so a bad file changes nothing. A reviewer's password is set only when the reviewer is
new, and whether one is enabled never (that is ``reviewers``); with
``WITHDRAWALS_ENV=production`` every reviewer needs an ``identity_id``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.command import Command, Context, Result
from cli.output import table
from config import settings
from ledger.db import run_in_transaction
from ledger.loading import LoadSummary, UpsertCounts, load_fixture
from models.errors import InputError
from models.fixtures import parse_fixture

MAX_FIXTURE_BYTES = 50 * 1024 * 1024


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.json", help="fixture file, or - for stdin")
    parser.add_argument(
        "--adjust",
        action="store_true",
        help="an existing account's different cash (opening balance) writes an audited "
        "adjustment entry instead of being refused",
    )


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read(MAX_FIXTURE_BYTES + 1)
    path = Path(name)
    if not path.is_file():
        raise InputError("FILE", f"no such file {name!r}")
    if path.stat().st_size > MAX_FIXTURE_BYTES:
        raise InputError("FILE", f"larger than {MAX_FIXTURE_BYTES} bytes")
    return path.read_bytes()


def _text(name: str, summary: LoadSummary) -> str:
    def row(kind: str, counts: UpsertCounts) -> list[str]:
        return [kind, str(counts.created), str(counts.updated), str(counts.unchanged)]

    rows = [
        row("accounts", summary.accounts),
        row("payg_resources", summary.payg_resources),
        row("recharge_orders", summary.recharge_orders),
        row("reviewers", summary.reviewers),
    ]
    text = f"loaded {name}\n" + table(rows, header=["", "created", "updated", "unchanged"])
    if summary.adjustments:
        text += "\nopening balance adjusted (audited): " + ", ".join(summary.adjustments)
    return text


def _run(args: argparse.Namespace, context: Context) -> Result:
    data = _read(args.file)
    if len(data) > MAX_FIXTURE_BYTES:
        raise InputError("FILE", f"larger than {MAX_FIXTURE_BYTES} bytes")
    fixture = parse_fixture(data)
    summary = run_in_transaction(
        context.engine,
        load_fixture,
        fixture,
        adjust=args.adjust,
        now=context.now(),
        require_identity=settings.is_production(),  # four-eyes compares people (issue 22)
    )
    document = {"file": args.file, **summary.model_dump()}
    return Result(document=document, text=_text(args.file, summary))


COMMAND = Command(
    name="load",
    help="load accounts, orders and reviewers from a fixture",
    configure=_configure,
    run=_run,
)
