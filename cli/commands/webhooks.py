"""``webhooks [--failed] [--withdrawal W]``: status-event deliveries with their attempts.

Each row is one event to one URL: its state (``pending``, ``delivered``, ``failed``),
attempts so far and the last error. ``--failed`` lists those that gave up after the retry
window (at least a day): the receiver missed them and must be told another way.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlmodel import col, select

from application.records import when
from cli.command import Command, Context, Result
from cli.output import table
from ledger.db import read_only_session
from ledger.tables import WebhookDelivery, WebhookDeliveryState, WebhookEvent

DEFAULT_LIMIT = 100


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--failed", action="store_true", help="only deliveries that gave up after the window"
    )
    parser.add_argument("--withdrawal", metavar="W", help="only this withdrawal's events")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="newest first, at most")


def _run(args: argparse.Namespace, context: Context) -> Result:
    query = select(WebhookDelivery, WebhookEvent).where(WebhookDelivery.event_id == WebhookEvent.id)
    if args.failed:
        query = query.where(WebhookDelivery.state == WebhookDeliveryState.FAILED.value)
    if args.withdrawal:
        query = query.where(WebhookEvent.withdrawal_id == args.withdrawal)
    query = query.order_by(col(WebhookEvent.created_at).desc(), col(WebhookEvent.sequence).desc())
    with read_only_session(context.engine) as session:
        rows = session.exec(query.limit(max(1, min(args.limit, 1000)))).all()
        documents: list[dict[str, Any]] = [
            {
                "event_id": event.id,
                "withdrawal_id": event.withdrawal_id,
                "sequence": event.sequence,
                "type": event.type,
                "url": delivery.url,
                "state": delivery.state,
                "attempts": delivery.attempts,
                "last_error": delivery.last_error,
                "last_attempt_at": delivery.last_attempt_at,
                "delivered_at": delivery.delivered_at,
                "created_at": event.created_at,
            }
            for delivery, event in rows
        ]
    return Result(document=documents, text=_text(documents, args.failed))


def _text(documents: list[dict[str, Any]], failed: bool) -> str:
    if not documents:
        return "no failed webhook deliveries" if failed else "no webhook deliveries"
    rows = [
        [
            when(d["created_at"]),
            d["event_id"],
            d["type"],
            d["url"],
            d["state"],
            str(d["attempts"]),
            d["last_error"] or "",
        ]
        for d in documents
    ]
    header = ["created", "event", "type", "url", "state", "attempts", "last error"]
    return table(rows, header=header)


COMMAND = Command(
    name="webhooks",
    help="webhook deliveries of status events, with attempts and the last error",
    configure=_configure,
    run=_run,
)
