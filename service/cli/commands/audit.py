"""``audit verify``: walk the hash-chained audit log; ``audit show ID``: one withdrawal's rows.

``verify`` exits 0 when every link holds and 4 when one is broken, naming the first
broken row; its ``last_hash`` can be recorded elsewhere to anchor the head (a log cut
short at the end still verifies, but no longer ends with the recorded hash).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger import audit
from ledger.db import session_scope
from models.errors import InputError
from service.cli.command import Command, Context, Result
from service.cli.output import jsonable, table

EXIT_CHAIN_BROKEN = 4


def _configure(parser: argparse.ArgumentParser) -> None:
    # One positional, not nested subparsers: the global --json/--debug stay accepted after it.
    parser.add_argument(
        "audit_action",
        choices=["verify", "show"],
        metavar="ACTION",
        help="verify: check every link (exit 4 if broken); show WITHDRAWAL_ID: its rows",
    )
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID", nargs="?")


def _verify(context: Context) -> Result:
    with session_scope(context.engine) as session:
        found = audit.verify(session)
    document: dict[str, Any] = {
        "ok": found.ok,
        "rows": found.rows,
        "last_seq": found.last_seq,
        "last_hash": found.last_hash,
        "broken_at": found.broken.seq if found.broken else None,
        "problem": found.broken.problem if found.broken else None,
    }
    if found.broken is None:
        text = f"audit chain intact: {found.rows} rows, last hash {found.last_hash}"
        return Result(document=document, text=text)
    line = f"audit: chain broken at row {found.broken.seq}: {found.broken.problem}"
    print(line, file=sys.stderr)
    text = f"{line}\n{found.rows} rows verified before it (last good hash {found.last_hash})"
    return Result(document=document, text=text, exit_status=EXIT_CHAIN_BROKEN)


def _show(context: Context, withdrawal_id: str) -> Result:
    with session_scope(context.engine) as session:
        rows = audit.entries(session, subject=withdrawal_id)
    document = [
        {
            "seq": row.seq,
            "at": row.at,
            "actor": row.actor,
            "action": row.action,
            "outcome": row.outcome,
            "detail": row.detail,
            "hash": row.hash,
        }
        for row in rows
    ]
    text = table(
        [[str(r.seq), jsonable(r.at), r.actor, r.action, r.outcome, r.detail] for r in rows],
        header=["seq", "at", "actor", "action", "outcome", "detail"],
    )
    return Result(document=document, text=text or f"no audit rows for {withdrawal_id}")


def _run(args: argparse.Namespace, context: Context) -> Result:
    if args.audit_action == "show":
        if not args.withdrawal_id:
            raise InputError("withdrawal_id", "audit show needs a WITHDRAWAL_ID")
        return _show(context, args.withdrawal_id)
    return _verify(context)


COMMAND = Command(
    name="audit",
    help="verify the hash-chained audit log (exit 4 if broken), or show a withdrawal's rows",
    configure=_configure,
    run=_run,
)
