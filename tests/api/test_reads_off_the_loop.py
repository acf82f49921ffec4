"""The API's database reads run off the event loop: a slow query (a large account's
transactions, a list page on a busy database) holds one worker thread, not every request
the process serves. Each read below is replaced by one that notes where it ran."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from temporalio.client import Client

from api.app import create_app
from api.keys import KeyRing
from application import accounts, withdrawals
from client.withdrawals import WithdrawalClient
from models.errors import NotFound

KEY = "a-key-of-twenty-chars"
AUTH = {"Authorization": f"Bearer {KEY}"}
READS = {
    "/v1/accounts/acct-1/withdrawable": (accounts, "withdrawable"),
    "/v1/accounts/acct-1/transactions": (accounts, "account_transactions"),
    "/v1/withdrawals?account_id=acct-1": (withdrawals, "list_page"),
}


def _on_the_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("path", READS)
def test_a_database_read_runs_off_the_event_loop(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, name = READS[path]
    ran_on_loop: list[bool] = []

    def read(*args: Any, **kwargs: Any) -> NoReturn:
        ran_on_loop.append(_on_the_event_loop())
        raise NotFound("R20", "no such account")  # no database behind this app

    monkeypatch.setattr(module, name, read)
    engine = create_engine("sqlite://")
    temporal = WithdrawalClient(cast(Client, object()), "unused")  # never reached
    app = create_app(engine=engine, client=temporal, keys=KeyRing.parse(f"backend:{KEY}"))
    with TestClient(app) as client:
        answer = client.get(path, headers=AUTH)

    assert answer.status_code == 404, answer.text
    assert ran_on_loop == [False]
