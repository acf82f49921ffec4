"""Signed-in reviewers: server-side sessions behind a signed, HttpOnly cookie.

The cookie carries only a random token and its HMAC; the reviewer, the CSRF token and
the times live here, so signing out or expiry ends a session for good. Sessions last
``SESSION_IDLE_MINUTES`` without use and ``SESSION_MAX_HOURS`` at most; a restart of the
process signs everybody out (the store is in memory, one per HTTP process).

Each request also asks the database whether the reviewer may still be signed in
(``find_signed_in``): sessions live in this process, but ``starter.py reviewers disable``
or ``reset-password`` runs in another, and must end them at once, not at expiry.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.reviews import AuthenticatedReviewer

SESSION_IDLE_MINUTES = 30
SESSION_MAX_HOURS = 8
MAX_SESSIONS = 1000  # bounded: the oldest session goes first beyond this
TOKEN_BYTES = 32
MAX_COOKIE_CHARS = 200  # a token and its signature are ~110; more is not ours


@dataclass
class ConsoleSession:
    token: str
    reviewer: AuthenticatedReviewer
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    flash: tuple[str, str] | None = None  # (kind, text) shown once after a redirect

    def take_flash(self) -> tuple[str, str] | None:
        flash, self.flash = self.flash, None
        return flash

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given, self.csrf_token)


class SessionStore:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self._sessions: dict[str, ConsoleSession] = {}
        self._lock = threading.Lock()

    def _signature(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()[:32]

    def cookie_value(self, session: ConsoleSession) -> str:
        return f"{session.token}.{self._signature(session.token)}"

    def start(self, reviewer: AuthenticatedReviewer, now: datetime) -> ConsoleSession:
        """A new session (a fresh token on every sign-in: no session fixation)."""
        session = ConsoleSession(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            reviewer=reviewer,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            created_at=now,
            last_seen_at=now,
        )
        with self._lock:
            self._forget_expired(now)
            while len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.last_seen_at)
                del self._sessions[oldest.token]
            self._sessions[session.token] = session
        return session

    def find(self, cookie: str | None, now: datetime) -> ConsoleSession | None:
        """The live session the cookie names (and its last use moved to ``now``)."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS or "." not in cookie:
            return None
        token, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._signature(token)):
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if _expired(session, now):
                del self._sessions[token]
                return None
            session.last_seen_at = now
            return session

    async def find_signed_in(
        self,
        cookie: str | None,
        now: datetime,
        still_signed_in: Callable[[AuthenticatedReviewer], bool],
    ) -> ConsoleSession | None:
        """``find``, then the database's word (``application.reviews.still_signed_in``, in
        a thread): a reviewer disabled, or whose password was reset, since signing in has
        this session ended now. A database that cannot answer fails the request, not the
        session."""
        session = self.find(cookie, now)
        if session is None:
            return None
        if await asyncio.to_thread(still_signed_in, session.reviewer):
            return session
        self.end(session)
        return None

    def end(self, session: ConsoleSession) -> None:
        with self._lock:
            self._sessions.pop(session.token, None)

    def _forget_expired(self, now: datetime) -> None:
        for token in [t for t, s in self._sessions.items() if _expired(s, now)]:
            del self._sessions[token]


def _expired(session: ConsoleSession, now: datetime) -> bool:
    return now - session.last_seen_at > timedelta(
        minutes=SESSION_IDLE_MINUTES
    ) or now - session.created_at > timedelta(hours=SESSION_MAX_HOURS)
