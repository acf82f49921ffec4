"""Console sessions without a browser: what the cookie proves and when it stops working,
including a disable or password reset by ``starter.py reviewers`` (issue 26 item 2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.keys import KeyRing
from application.reviews import AuthenticatedReviewer
from console.sessions import SESSION_IDLE_MINUTES, SESSION_MAX_HOURS, SessionStore
from ledger import reviewers
from ledger.db import dispose_engine, get_engine, run_in_transaction
from ledger.loading import load_fixture
from models.fixtures import Fixture, FixtureReviewer
from models.passwords import hash_password

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
REVIEWER = AuthenticatedReviewer(
    reviewer_id="rev-1", name="Li", role="reviewer", authenticated_at=START
)


def test_a_cookie_names_its_session_only_with_a_valid_signature() -> None:
    store = SessionStore()
    session = store.start(REVIEWER, START)
    cookie = store.cookie_value(session)
    assert store.find(cookie, START) is session
    token, _, signature = cookie.rpartition(".")
    assert store.find(f"{token}.{'0' * len(signature)}", START) is None
    assert store.find(token, START) is None
    assert SessionStore().find(cookie, START) is None  # another process's key


def test_sessions_expire_when_idle_and_after_the_maximum_whatever_the_use() -> None:
    store = SessionStore()
    idle = store.start(REVIEWER, START)
    late = START + timedelta(minutes=SESSION_IDLE_MINUTES + 1)
    assert store.find(store.cookie_value(idle), late) is None

    busy = store.start(REVIEWER, START)
    cookie, now = store.cookie_value(busy), START
    while now < START + timedelta(hours=SESSION_MAX_HOURS):
        assert store.find(cookie, now) is busy
        now += timedelta(minutes=SESSION_IDLE_MINUTES - 1)
    assert store.find(cookie, now) is None


def test_signing_out_ends_the_session_and_each_sign_in_gets_new_tokens() -> None:
    store = SessionStore()
    first, second = store.start(REVIEWER, START), store.start(REVIEWER, START)
    assert first.token != second.token and first.csrf_token != second.csrf_token
    store.end(first)
    assert store.find(store.cookie_value(first), START) is None
    assert store.find(store.cookie_value(second), START) is second
    assert first.csrf_matches(first.csrf_token) and not first.csrf_matches(None)
    assert not first.csrf_matches(second.csrf_token)


# ---- the database's word on every request (issue 26 item 2) -------------------------------
LEAD, LEAD_PASSWORD = "lead-1", "lead-1 passphrase"
REVIEWER_PASSWORD = "rev-1 passphrase"


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    """The HTTP service in-process (no Temporal: the queue reads the ledger only), with a
    lead and a reviewer."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = get_engine(url)
    reviewers = [
        FixtureReviewer(id=LEAD, name="Lead", role="lead", password=LEAD_PASSWORD),
        FixtureReviewer(id="rev-1", name="Li", password=REVIEWER_PASSWORD),
    ]
    run_in_transaction(engine, load_fixture, Fixture(reviewers=reviewers))
    app = create_app(engine=engine, keys=KeyRing.of({"test": "k" * 32}))
    with TestClient(app) as http:
        yield http, engine
    dispose_engine(url)


def _sign_in(http: TestClient, reviewer_id: str, password: str) -> None:
    form = http.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    fields = {"reviewer_id": reviewer_id, "password": password, "csrf_token": token[1]}
    signed_in = http.post("/console/sign-in", data=fields, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text


def _queue_status(http: TestClient) -> int:
    return http.get("/console/queue", follow_redirects=False).status_code


def test_disabling_a_reviewer_ends_their_console_session_at_the_next_request(
    console: tuple[TestClient, Engine],
) -> None:
    http, engine = console
    _sign_in(http, "rev-1", REVIEWER_PASSWORD)
    assert _queue_status(http) == 200
    run_in_transaction(engine, reviewers.set_enabled, "rev-1", False, by=LEAD, at=_now())
    assert _queue_status(http) == 303  # back to the sign-in page: the session is gone
    run_in_transaction(engine, reviewers.set_enabled, "rev-1", True, by=LEAD, at=_now())
    assert _queue_status(http) == 303  # enabling again does not revive an ended session
    _sign_in(http, "rev-1", REVIEWER_PASSWORD)
    assert _queue_status(http) == 200


def test_a_password_reset_ends_the_sessions_signed_in_before_it(
    console: tuple[TestClient, Engine],
) -> None:
    http, engine = console
    _sign_in(http, "rev-1", REVIEWER_PASSWORD)
    assert _queue_status(http) == 200
    new_hash = hash_password("a new passphrase")
    run_in_transaction(engine, reviewers.reset_password, "rev-1", new_hash, by=LEAD, at=_now())
    assert _queue_status(http) == 303
    _sign_in(http, "rev-1", "a new passphrase")
    assert _queue_status(http) == 200


def _now() -> datetime:
    return datetime.now(UTC)
