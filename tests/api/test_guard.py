"""What every ``/v1`` request passes first, in process (no Temporal needed for these paths):
API keys kept only as digests, the per-key rate limit (429 with ``Retry-After``), and
what a 409 costs a key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from api.guard import CONFLICT_COST_REQUESTS, Guard, RateLimits, TokenBucket
from api.keys import KeyConfigError, KeyRing
from ledger.db import dispose_engine, get_engine

KEY_A = "a-key-of-twenty-chars"
KEY_B = "another-key-of-20-chars"


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    app = create_app(
        engine=get_engine(url),
        keys=KeyRing.parse(f"backend-a:{KEY_A},backend-b:{KEY_B}"),
        limits=RateLimits(rate=0.5, burst=3),
    )
    with TestClient(app) as client:
        yield client
    dispose_engine(url)


def test_keys_are_kept_as_digests_and_each_has_a_name() -> None:
    ring = KeyRing.parse(f"backend-a:{KEY_A}, backend-b:{KEY_B}")
    assert ring.name_of(KEY_A) == "backend-a" and ring.name_of(KEY_B) == "backend-b"
    assert ring.name_of(KEY_A + "x") is None and ring.name_of("") is None
    assert KEY_A not in repr(ring) and all(len(digest) == 32 for digest, _ in ring.digests)
    for bad in ("no-colon", "short:abc", ":" + KEY_A, ""):
        with pytest.raises(KeyConfigError):
            KeyRing.parse(bad)


def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_go_on(
    app_client: TestClient,
) -> None:
    a = {"Authorization": f"Bearer {KEY_A}"}
    statuses = [app_client.get("/v1/withdrawals", headers=a).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = app_client.get("/v1/withdrawals", headers=a)
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert int(limited.headers["retry-after"]) >= 1
    assert "backend-a" in limited.json()["detail"]
    b = {"Authorization": f"Bearer {KEY_B}"}
    assert app_client.get("/v1/withdrawals", headers=b).status_code == 200  # per key
    assert app_client.get("/health").status_code == 200  # outside /v1: no key, no limit


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=2, clock=lambda: now[0])
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    now[0] = 0.5
    assert bucket.take() == 0.0


def _answering(status: int) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("answer", status_code=status)(scope, receive, send)

    return app


@pytest.mark.parametrize("answer", [200, 409])
def test_a_409_costs_its_key_many_requests_of_its_rate(answer: int) -> None:
    """Issue 22, item 7: "same id, different request" answers count against the key's
    rate limit, CONFLICT_COST_REQUESTS each, so a key cannot probe what a withdrawal was
    asked with at the rate it may make ordinary requests."""
    burst = 2 * CONFLICT_COST_REQUESTS
    guard = Guard(
        _answering(answer),
        keys=KeyRing.parse(f"backend-a:{KEY_A},backend-b:{KEY_B}"),
        limits=RateLimits(rate=1.0, burst=burst),
    )
    client = TestClient(guard)  # no lifespan: the app behind the guard only answers
    a = {"Authorization": f"Bearer {KEY_A}"}
    statuses = [client.post("/v1/withdrawals", headers=a).status_code for _ in range(3)]
    b = {"Authorization": f"Bearer {KEY_B}"}
    other_key = client.post("/v1/withdrawals", headers=b).status_code
    if answer == 409:
        assert statuses == [409, 409, 429]  # two conflicts spent the whole burst
    else:
        assert statuses == [200, 200, 200]
    assert other_key == answer  # per key


def test_a_charged_bucket_pays_its_debt_back_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10.0, burst=5, clock=lambda: now[0])
    bucket.spend(25)  # 5 in the bucket, 20 owed
    assert bucket.take() == pytest.approx(2.1)  # 21 tokens to earn for the next one
    now[0] = 2.1
    assert bucket.take() == 0.0
