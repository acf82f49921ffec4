"""The callback receiver while the ledger's database is away (issue 26, item 4): a signed
callback gets 503, so the provider tries again later, never a 500 with a traceback."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine

from callbacks.receiver import CALLBACK_PATH, create_app
from gateways.http_payout import parse_callback
from tests.faults.private_postgres import refused_postgres_url
from tests.stack.test_callbacks import SECRET, body_of, signed, unreachable


async def test_database_away_answers_503_so_the_provider_retries() -> None:
    engine = create_engine(refused_postgres_url())
    app = create_app(unreachable, parse_callback, secret=SECRET, engine=engine)
    body = body_of()
    headers = signed(body)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://receiver"
    ) as http:
        answer = await http.post(CALLBACK_PATH, content=body, headers=headers)
    assert answer.status_code == 503
    assert "database" in answer.json()["reason"]
    engine.dispose()
