"""``audit verify``: walk the hash-chained audit log; ``audit show ID``: one withdrawal's
rows; ``audit anchor``: record the chains' heads now (a Temporal Schedule does it
periodically under ``make run``).

``verify`` exits 0 when every link holds and 4 when one is broken, naming the first
broken row; a chain cut short or removed after an anchor recorded its head is broken
too. Its ``last_anchor_hash`` can be recorded elsewhere to protect the anchors; rows
written after the newest anchor are protected only by their chain's links.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.command import Command, Context, Result
from cli.output import jsonable, table
from ledger import audit
from ledger.db import read_only_session, run_in_transaction
from models.errors import InputError

EXIT_CHAIN_BROKEN = 4


def _configure(parser: argparse.ArgumentParser) -> None:
    # One positional, not nested subparsers: the global --json/--debug stay accepted after it.
    parser.add_argument(
        "audit_action",
        choices=["verify", "show", "anchor"],
        metavar="ACTION",
        help="verify: check every link (exit 4 if broken); show WITHDRAWAL_ID: its rows; "
        "anchor: record the chains' heads now",
    )
    parser.add_argument("withdrawal_id", metavar="WITHDRAWAL_ID", nargs="?")


def _verify(context: Context) -> Result:
    with read_only_session(context.engine) as session:
        found = audit.verify(session)
    broken = found.broken
    document: dict[str, Any] = {
        "ok": found.ok,
        "rows": found.rows,
        "chains": found.chains,
        "anchors": found.anchors,
        "last_seq": found.last_seq,
        "last_anchor_hash": found.last_anchor_hash,
        "broken_at": broken.seq if broken else None,
        "broken_chain": broken.chain if broken else None,
        "broken_chain_seq": broken.chain_seq if broken else None,
        "problem": broken.problem if broken else None,
    }
    if broken is None:
        text = (
            f"audit chains intact: {found.rows} rows in {found.chains} chains, "
            f"{found.anchors} anchors, last anchor hash {found.last_anchor_hash}"
        )
        return Result(document=document, text=text)
    line = f"audit: chain {broken.chain} broken at its row {broken.chain_seq}: {broken.problem}"
    print(line, file=sys.stderr)
    text = f"{line}\n{found.rows} rows verified before it"
    return Result(document=document, text=text, exit_status=EXIT_CHAIN_BROKEN)


def _anchor(context: Context) -> Result:
    anchored = run_in_transaction(context.engine, audit.anchor)
    if anchored is None:
        return Result(
            document={"anchored": False}, text="audit: no chain grew since the last anchor"
        )
    document = {"anchored": True, "id": anchored.id, "hash": anchored.hash, "heads": anchored.heads}
    text = f"audit anchor {anchored.id}: {anchored.heads} chain heads, hash {anchored.hash}"
    return Result(document=document, text=text)


def _show(context: Context, withdrawal_id: str) -> Result:
    with read_only_session(context.engine) as session:
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
    if args.audit_action == "anchor":
        return _anchor(context)
    return _verify(context)


COMMAND = Command(
    name="audit",
    help="verify the hash-chained audit log (exit 4 if broken), show a withdrawal's rows, "
    "or anchor the chains' heads",
    configure=_configure,
    run=_run,
)
