"""The webhook event's body keeps its wire format while it is built faster (issue 24):
the same bytes as the document's ``model_dump(mode="python")`` through ``jsonable``, with
times in UTC as ``+00:00`` (never ``Z``), amounts as strings, Chinese unescaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, select

from ledger import events
from ledger.db import session_scope
from ledger.documents import record_document
from ledger.withdrawals import create_withdrawal, set_withdrawal_status
from models.domain import Kind, Route, Status, WithdrawalRequest
from models.jsonable import jsonable
from models.money import Money
from tests.ledger.data import NOW, load

SHANGHAI = timezone(timedelta(hours=8))


def test_event_body_is_the_documents_json_as_before(engine: Engine) -> None:
    load(engine)
    request = WithdrawalRequest(
        withdrawal_id="w-body",
        account_id="acct-plain",
        amount=Money.yuan("12.34"),
        kind=Kind.RECHARGE,
        route=Route.ORIGINAL,
        order_id="P-ORDER",
    )
    with session_scope(engine) as session:
        create_withdrawal(session, request, NOW.astimezone(SHANGHAI))
    with session_scope(engine) as session:
        set_withdrawal_status(session, "w-body", Status.REJECTED, NOW, note="不符", reason="r")
    with session_scope(engine) as session:
        document = record_document(session, "w-body")
        rows = session.execute(
            select(events.EVENTS.c.sequence, events.EVENTS.c.type, events.EVENTS.c.body)
            .where(events.EVENTS.c.withdrawal_id == "w-body")
            .order_by(events.EVENTS.c.sequence)
        ).all()
    assert document is not None and [row[1] for row in rows] == [
        "withdrawal.verifying",
        "withdrawal.rejected",
    ]
    sequence, event_type, body = rows[-1]
    written = json.loads(body)
    # The way the body was built before issue 24, as the oracle.
    data = {**document.model_dump(mode="python"), "sequence": sequence}
    at = datetime.fromisoformat(written["timestamp"])
    expected = json.dumps(
        jsonable({"type": event_type, "timestamp": at.astimezone(UTC).isoformat(), "data": data}),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert body == expected
    assert written["timestamp"].endswith("+00:00") and 'Z"' not in body
    assert written["data"]["timeline"][0]["at"].endswith("+00:00")
    assert written["data"]["amount"] == "12.34" and "不符" in body
