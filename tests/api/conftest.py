"""One real stack for the HTTP API tests, started by ``stack`` as ``make run`` does
(the API served by its own process on a free port, its dev key in the data directory), and
an HTTP client that calls it as a backend would."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gateways.http_sms import HttpSmsProvider
from ledger.db import dispose_engine, get_engine, session_scope
from ledger.tables import Account
from stack import Ports, Stack, StackConfig

SETTLE_SECONDS = 2.0
STATUS_WAIT_SECONDS = 40.0
STATUS_POLL_SECONDS = 0.3
HTTP_TIMEOUT_SECONDS = 60.0
ROOT_WAIT_SECONDS = HTTP_TIMEOUT_SECONDS
PDF_PROOF = b"%PDF-1.4\n% proof of payment for the API tests\n%%EOF\n"


@dataclass
class Api:
    """The API as a backend calls it: ``api.get("/v1/...")`` with the dev key."""

    http: httpx.Client
    stack: Stack
    key: str

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def held(self, account: str) -> str:
        response = self.get(f"/v1/accounts/{account}/withdrawable")
        assert response.status_code == 200, response.text
        held: str = response.json()["held"]
        return held

    def latest_code(self, account: str) -> str:
        engine = get_engine(self.stack.urls.database_url)
        with session_scope(engine) as session:
            account_row = session.get(Account, account)
            assert account_row is not None
            phone = account_row.security_phone
        inbox = asyncio.run(HttpSmsProvider(self.stack.urls.sms).inbox(phone, limit=1))
        assert inbox and inbox[0].code, inbox
        return str(inbox[0].code)

    def wait_for_status(self, withdrawal_id: str, *statuses: str) -> dict[str, Any]:
        deadline = time.monotonic() + STATUS_WAIT_SECONDS
        while True:
            response = self.get(f"/v1/withdrawals/{withdrawal_id}")
            assert response.status_code == 200, response.text
            document: dict[str, Any] = response.json()
            if document["status"] in statuses or time.monotonic() > deadline:
                assert document["status"] in statuses, document
                return document
            time.sleep(STATUS_POLL_SECONDS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    config = StackConfig.local(
        tmp_path_factory.mktemp("api-stack"), Ports.free(), max_settle_seconds=SETTLE_SECONDS
    )
    saved = os.environ.pop("API_KEYS", None)  # the stack's own dev key, as under make run
    stack = await Stack.start(config)
    yield stack
    stack.stop()
    dispose_engine(stack.urls.database_url)
    if saved is not None:
        os.environ["API_KEYS"] = saved


@pytest.fixture(scope="session")
def api(api_stack: Stack) -> Iterator[Api]:
    key = api_stack.api_key
    assert key is not None
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(
        base_url=api_stack.urls.http, headers=headers, timeout=HTTP_TIMEOUT_SECONDS
    ) as http:
        yield Api(http=http, stack=api_stack, key=key)


def new_id(prefix: str) -> str:
    """Unique; the hex is split so it never holds 11 digits in a row (ids refuse those:
    they could be a phone or a card number)."""
    token = os.urandom(6).hex()
    return f"{prefix}-{token[:6]}-{token[6:]}"
