"""What every console page shares: its constants and security headers, the templates,
the ``Page`` that renders one in the reviewer's language, and the session helpers
(signed in, or sent to sign in). The pages themselves are in ``console.routes``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from application.records import status_label
from application.reviews import still_signed_in
from console import i18n
from console.sessions import ConsoleSession, SessionStore
from console.times import local_time

PREFIX = "/console"
SESSION_COOKIE = "console_session"
SIGN_IN_CSRF_COOKIE = "console_sign_in"
LANGUAGE_COOKIE = "console_lang"
QUEUE_REFRESH_SECONDS = 15  # CONSOLE_REFRESH_SECONDS overrides it
MAX_REVIEWER_ID_CHARS = 64
DEFAULT_TEMPORAL_UI = "http://localhost:8233"
PROOF_SNIFF_BYTES = 16
# A form post is read only up to this (413 beyond, issue 22): the longest form, a decision
# whose comment is at its limit (MAX_REVIEW_COMMENT_CHARS * 4 characters, each at most
# 12 bytes percent-encoded: 96,000 bytes), fits with room for the other fields.
MAX_CONSOLE_FORM_BYTES = 128 * 1024

# No external assets, no inline script or style: everything comes from /console/static.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'self'; frame-src 'self'; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# A proof is someone's document: shown in the console's own pages only, never run.
PROOF_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
STATIC_TYPES = {"console.css": "text/css", "console.js": "text/javascript"}

templates = Environment(
    loader=PackageLoader("console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["local_time"] = local_time  # times in DISPLAY_TIMEZONE (console.times)


def utc_now() -> datetime:
    return datetime.now(UTC)


def secure_cookies(request: Request) -> bool:
    """Secure cookies wherever the console is served over TLS (or told so behind a proxy)."""
    return request.url.scheme == "https" or os.environ.get("CONSOLE_SECURE_COOKIES") == "1"


def security_headers(response: Response, policy: str = PAGE_POLICY) -> Response:
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    if "frame-ancestors 'none'" in policy:
        response.headers["X-Frame-Options"] = "DENY"
    return response


@dataclass
class Page:
    request: Request
    language: str
    session: ConsoleSession | None

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        t = i18n.translator(self.language)
        html = templates.get_template(template).render(
            t=t,
            lang=self.language,
            other_lang="en" if self.language == "zh" else "zh",
            session=self.session,
            reviewer=self.session.reviewer if self.session else None,
            csrf_token=self.session.csrf_token if self.session else "",
            flash=self.session.take_flash() if self.session else None,
            prefix=PREFIX,
            path=self.request.url.path,
            query=self.request.url.query,
            status_label=status_label,
            r9_words=lambda reason: i18n.r9_words(self.language, reason),
            r17_words=lambda reason: i18n.r17_words(self.language, reason),
            route_words=lambda route: t(f"route_{route}"),
            kind_words=lambda kind: t(f"kind_{kind}"),
            **values,
        )
        return security_headers(HTMLResponse(html, status_code=status_code))  # type: ignore[return-value]


def session_store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.console_sessions
    return store


def services_of(request: Request) -> Any:
    return request.app.state.services


async def signed_in_session(request: Request) -> ConsoleSession | None:
    """The request's session while its reviewer may still be signed in (checked in the
    database on every request: a disable or a password reset ends it at once)."""
    engine = services_of(request).engine
    return await session_store(request).find_signed_in(
        request.cookies.get(SESSION_COOKIE), utc_now(), lambda r: still_signed_in(engine, r)
    )


def page_for(request: Request, session: ConsoleSession | None = None) -> Page:
    language = i18n.pick_language(
        request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )
    return Page(request=request, language=language, session=session)


def to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"{PREFIX}/sign-in?next={quote(target)}", status_code=303)
    security_headers(response)
    return response


def safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect."""
    if target and target.startswith(PREFIX + "/") and "//" not in target and "\\" not in target:
        return target
    return f"{PREFIX}/queue"


def csrf_refused(request: Request) -> HTMLResponse:
    return page_for(request).render("message.html", 403, message_key="csrf_failed")


def queue_refresh_seconds() -> int:
    configured = os.environ.get("CONSOLE_REFRESH_SECONDS", "")
    return max(1, int(configured)) if configured.isdigit() else QUEUE_REFRESH_SECONDS


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60:02d}m"
