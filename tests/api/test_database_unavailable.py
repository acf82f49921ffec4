"""While the ledger's database is away the API answers 503 with Retry-After as
problem+json, never a 500 (issue 26, item 4); a database error that is a bug stays a 500.
In process: an engine whose server refuses every connection. The whole story, a real
PostgreSQL stopped under a burst of withdrawals, is tests/faults/test_database_outage.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from temporalio.client import Client

from api.app import create_app
from api.keys import KeyRing
from api.problems import UNAVAILABLE_RETRY_AFTER_SECONDS
from client.withdrawals import WithdrawalClient
from tests.faults.private_postgres import refused_postgres_url

KEY = "a-key-of-twenty-chars"
AUTH = {"Authorization": f"Bearer {KEY}"}
CREATE = {"account_id": "acct-1", "amount": "10.00", "order_id": "R-1", "to": "original"}


def _client_over(engine: Engine) -> TestClient:
    # Never reached: each request below fails on the database first.
    temporal = WithdrawalClient(cast(Client, object()), "unused")
    app = create_app(engine=engine, client=temporal, keys=KeyRing.parse(f"backend:{KEY}"))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def database_away() -> Iterator[TestClient]:
    engine = create_engine(refused_postgres_url(), pool_pre_ping=True)
    with _client_over(engine) as client:
        yield client
    engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/accounts/acct-1/withdrawable", None),
        ("GET", "/v1/withdrawals?account_id=acct-1", None),
        ("GET", "/v1/accounts/acct-1/transactions", None),
        ("POST", "/v1/withdrawals", CREATE),
    ],
    ids=["withdrawable", "list", "transactions", "create"],
)
def test_database_away_is_503_with_retry_after(
    database_away: TestClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    answer = database_away.request(method, path, json=body, headers=AUTH)
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["retry-after"] == str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    problem = answer.json()
    assert problem["type"] == "/problems/unavailable" and problem["status"] == 503
    assert "database" in problem["detail"]


def test_a_database_error_that_is_a_bug_stays_a_500(tmp_path: Path) -> None:
    # A database with no tables: SQLite's "no such table" is an OperationalError too,
    # and must not pass for an outage (ledger.db.is_unavailable).
    engine = create_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")
    with _client_over(engine) as client:
        answer = client.get("/v1/accounts/acct-1/withdrawable", headers=AUTH)
    assert answer.status_code == 500
    assert "retry-after" not in answer.headers
    engine.dispose()


def test_every_v1_operation_documents_its_503(database_away: TestClient) -> None:
    paths = database_away.get("/openapi.json").json()["paths"]
    operations = [
        op for path, item in paths.items() if path.startswith("/v1") for op in item.values()
    ]
    assert operations and all("503" in op["responses"] for op in operations)
