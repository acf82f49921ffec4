"""Console sessions without a browser: what the cookie proves and when it stops working."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.reviews import AuthenticatedReviewer
from console.sessions import SESSION_IDLE_MINUTES, SESSION_MAX_HOURS, SessionStore

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
