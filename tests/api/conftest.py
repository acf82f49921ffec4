"""One real stack for the HTTP API tests, started by ``stack`` as ``make run`` does
(the API served by its own process on a free port, its dev key in the data directory), and
an HTTP client that calls it as a backend would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gateways.http_sms import HttpSmsProvider
from ledger.db import get_engine, session_scope
from ledger.tables import Account
from stack import Stack
from tests.launched import HTTP_TIMEOUT_SECONDS, launched_stack, wait_for_status

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
        def document() -> dict[str, Any]:
            response = self.get(f"/v1/withdrawals/{withdrawal_id}")
            assert response.status_code == 200, response.text
            found: dict[str, Any] = response.json()
            return found

        return wait_for_status(document, *statuses)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with launched_stack(tmp_path_factory, "api-stack") as stack:
        yield stack


@contextmanager
def api_of(stack: Stack) -> Iterator[Api]:
    """The stack's API with its dev key, as a backend calls it."""
    key = stack.api_key
    assert key is not None
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(
        base_url=stack.urls.http, headers=headers, timeout=HTTP_TIMEOUT_SECONDS
    ) as http:
        yield Api(http=http, stack=stack, key=key)


@pytest.fixture(scope="session")
def api(api_stack: Stack) -> Iterator[Api]:
    with api_of(api_stack) as api:
        yield api
