"""The reviewer console's pages under ``/console`` (CONTRACT.md, "reviewer console").

Every page reads ``application/`` (the queue, one case, the status document) and every
decision goes through ``application.decisions.decide`` with a proof signed for the
reviewer who signed in here (``application.reviews``): the workflow, not this module,
decides whether it counts, and a refusal is shown as one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from temporalio.service import RPCError

from api.body_limit import BodyLimit
from application import decisions
from application.proofs import proof_path, read_proof_file, sniff_proof_type
from application.records import status_label
from application.review_queue import (
    ReviewItem,
    recorded_status,
    review_case,
    waiting_for_review,
)
from application.reviews import authenticate, still_signed_in
from application.withdrawals import SOURCE_WORKFLOW, find_status
from client.withdrawals import workflow_id
from config import settings
from console import i18n
from console.sessions import SESSION_MAX_HOURS, ConsoleSession, SessionStore
from console.times import local_time
from models.domain import DesignatedReason, Route, Status, WithdrawalStatusDoc
from models.errors import AuthenticationFailed, InputError, NotFound
from models.limits import MAX_REVIEW_COMMENT_CHARS
from models.messages import ReviewDecisionKind
from models.passwords import MAX_PASSWORD_CHARS

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

_templates = Environment(
    loader=PackageLoader("console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["local_time"] = local_time  # times in DISPLAY_TIMEZONE (console.times)


def _now() -> datetime:
    return datetime.now(UTC)


def _secure_cookies(request: Request) -> bool:
    """Secure cookies wherever the console is served over TLS (or told so behind a proxy)."""
    return request.url.scheme == "https" or os.environ.get("CONSOLE_SECURE_COOKIES") == "1"


def _security_headers(response: Response, policy: str = PAGE_POLICY) -> Response:
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
        html = _templates.get_template(template).render(
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
        return _security_headers(HTMLResponse(html, status_code=status_code))  # type: ignore[return-value]


def _store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.console_sessions
    return store


def _services(request: Request) -> Any:
    return request.app.state.services


async def _session(request: Request) -> ConsoleSession | None:
    """The request's session while its reviewer may still be signed in (checked in the
    database on every request: a disable or a password reset ends it at once)."""
    engine = _services(request).engine
    return await _store(request).find_signed_in(
        request.cookies.get(SESSION_COOKIE), _now(), lambda r: still_signed_in(engine, r)
    )


def _page(request: Request, session: ConsoleSession | None = None) -> Page:
    language = i18n.pick_language(
        request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )
    return Page(request=request, language=language, session=session)


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"{PREFIX}/sign-in?next={quote(target)}", status_code=303)
    _security_headers(response)
    return response


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect."""
    if target and target.startswith(PREFIX + "/") and "//" not in target and "\\" not in target:
        return target
    return f"{PREFIX}/queue"


def _csrf_refused(request: Request) -> HTMLResponse:
    return _page(request).render("message.html", 403, message_key="csrf_failed")


def _refresh_seconds() -> int:
    configured = os.environ.get("CONSOLE_REFRESH_SECONDS", "")
    return max(1, int(configured)) if configured.isdigit() else QUEUE_REFRESH_SECONDS


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60:02d}m"


# ---- the queue ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    route: str = ""
    reason: str = ""
    overdue: bool = False

    def keep(self, item: ReviewItem) -> bool:
        if self.route and item.route != self.route:
            return False
        if self.overdue and not item.overdue:
            return False
        if self.reason in i18n.R17_FILTERS:
            return i18n.R17_FILTERS[self.reason] in item.review_reasons
        return not self.reason or item.designated_reason == self.reason

    @property
    def active(self) -> bool:
        return bool(self.route or self.reason or self.overdue)


def _queue_row(item: ReviewItem, now: datetime) -> dict[str, Any]:
    return {
        "item": item,
        "age": _duration(item.age_seconds),
        "left": _duration((item.sla_due_at - now).total_seconds()),
    }


# ---- the router --------------------------------------------------------------------------
def console_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("")
    @router.get("/")
    async def home(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/queue", status_code=303)

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC_TYPES:
            return Response(status_code=404)
        body = resources.files("console").joinpath("static", name).read_bytes()
        response = Response(body, media_type=STATIC_TYPES[name])
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-cache"
        return response

    @router.get("/language")
    async def language(request: Request, to: str = "en", next: str = "") -> Response:
        response = RedirectResponse(_safe_next(next), status_code=303)
        if to in i18n.LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE, to, max_age=365 * 86400, path=PREFIX, samesite="strict"
            )
        return response

    # -- sign in and out --
    @router.get("/sign-in")
    async def sign_in_form(request: Request, next: str = "") -> Response:
        if await _session(request) is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return _sign_in_page(request, next)

    def _sign_in_page(
        request: Request, next: str, message_key: str = "", status_code: int = 200
    ) -> Response:
        token = secrets.token_urlsafe(32)
        response = _page(request).render(
            "sign_in.html",
            status_code,
            sign_in_csrf=token,
            next=_safe_next(next),
            message_key=message_key,
        )
        response.set_cookie(
            SIGN_IN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=_secure_cookies(request),
            path=PREFIX,
        )
        return response

    @router.post("/sign-in")
    async def sign_in(
        request: Request,
        reviewer_id: str = Form("", max_length=MAX_REVIEWER_ID_CHARS),
        password: str = Form("", max_length=MAX_PASSWORD_CHARS),
        csrf_token: str = Form("", max_length=100),
        next: str = Form("", max_length=500),
    ) -> Response:
        expected = request.cookies.get(SIGN_IN_CSRF_COOKIE) or ""
        if not expected or not secrets.compare_digest(csrf_token, expected):
            return _csrf_refused(request)
        engine = _services(request).engine
        try:
            reviewer = await asyncio.to_thread(authenticate, engine, reviewer_id.strip(), password)
        except AuthenticationFailed:
            return _sign_in_page(request, next, "auth_failed", 401)
        session = _store(request).start(reviewer, _now())
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            _store(request).cookie_value(session),
            max_age=SESSION_MAX_HOURS * 3600,
            httponly=True,
            samesite="strict",
            secure=_secure_cookies(request),
            path=PREFIX,
        )
        response.delete_cookie(SIGN_IN_CSRF_COOKIE, path=PREFIX)
        return _security_headers(response)

    @router.post("/sign-out")
    async def sign_out(request: Request, csrf_token: str = Form("", max_length=100)) -> Response:
        session = await _session(request)
        if session is None:
            return _to_sign_in(request)
        if not session.csrf_matches(csrf_token):
            return _csrf_refused(request)
        _store(request).end(session)
        response = _page(request).render("message.html", message_key="signed_out", sign_in=True)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    # -- the queue --
    @router.get("/queue")
    async def queue(
        request: Request, route: str = "", reason: str = "", overdue: str = ""
    ) -> Response:
        session = await _session(request)
        if session is None:
            return _to_sign_in(request)
        now = _now()
        items = await asyncio.to_thread(waiting_for_review, _services(request).engine, now)
        filters = Filters(route=route[:16], reason=reason[:40], overdue=overdue == "1")
        rows = [_queue_row(item, now) for item in items if filters.keep(item)]
        return _page(request, session).render(
            "queue.html",
            rows=rows,
            total=len(items),
            filters=filters,
            routes=[r.value for r in Route],
            r9_reasons=[r.value for r in DesignatedReason],
            r17_filters=i18n.R17_FILTERS,
            refresh_seconds=_refresh_seconds(),
        )

    # -- one withdrawal --
    @router.get("/withdrawals/{withdrawal_id}")
    async def withdrawal(request: Request, withdrawal_id: str) -> Response:
        session = await _session(request)
        if session is None:
            return _to_sign_in(request)
        return await _withdrawal_page(request, session, withdrawal_id[:64])

    async def _withdrawal_page(
        request: Request, session: ConsoleSession, withdrawal_id: str
    ) -> Response:
        services = _services(request)
        page = _page(request, session)
        case = await asyncio.to_thread(review_case, services.engine, withdrawal_id)
        if case is None:
            return page.render(
                "message.html",
                404,
                message_key="unknown_withdrawal",
                message_values={"id": withdrawal_id},
            )
        doc: WithdrawalStatusDoc | None = None
        live = False
        try:
            doc, source = await find_status(
                services.engine, await services.temporal(), withdrawal_id
            )
            live = source == SOURCE_WORKFLOW
        except (RPCError, NotFound, RuntimeError):
            doc = None
        if doc is None:  # Temporal away: the record the workflow wrote as it went
            doc = await asyncio.to_thread(recorded_status, services.engine, withdrawal_id)
        if doc is None:
            return page.render(
                "message.html",
                404,
                message_key="unknown_withdrawal",
                message_values={"id": withdrawal_id},
            )
        proofs = [
            {
                "n": n,
                "url": f"{PREFIX}/withdrawals/{quote(withdrawal_id)}/proofs/{n}",
                "type": _proof_type(reference),
            }
            for n, reference in enumerate(case.proofs, start=1)
        ]
        namespace = os.environ.get("TEMPORAL_NAMESPACE", settings.DEFAULT_NAMESPACE)
        ui = os.environ.get("TEMPORAL_UI_URL", DEFAULT_TEMPORAL_UI).rstrip("/")
        temporal_url = (
            f"{ui}/namespaces/{quote(namespace)}/workflows/{quote(workflow_id(withdrawal_id))}"
        )
        now = _now()
        due = case.sla_due_at
        return page.render(
            "withdrawal.html",
            doc=doc,
            case=case,
            live=live,
            proofs=proofs,
            temporal_url=temporal_url,
            sla_due=due,
            sla_left=_duration((due - now).total_seconds()) if due else "",
            overdue=doc.review_overdue or (due is not None and now > due),
            under_review=doc.status is Status.UNDER_REVIEW,
            max_comment=MAX_REVIEW_COMMENT_CHARS,
        )

    @router.get("/withdrawals/{withdrawal_id}/proofs/{n}")
    async def proof(request: Request, withdrawal_id: str, n: int) -> Response:
        session = await _session(request)
        if session is None:  # proofs are personal documents: never without a session
            return _security_headers(
                Response("sign in first", status_code=401, media_type="text/plain"), PROOF_POLICY
            )
        case = await asyncio.to_thread(review_case, _services(request).engine, withdrawal_id[:64])
        if case is None or not 1 <= n <= len(case.proofs):
            return _security_headers(Response(status_code=404), PROOF_POLICY)
        try:
            data = await asyncio.to_thread(read_proof_file, proof_path(case.proofs[n - 1]))
        except InputError:
            return _security_headers(Response(status_code=404), PROOF_POLICY)
        media_type = sniff_proof_type(data)
        if media_type is None:  # stored proofs were sniffed on the way in; never guess
            return _security_headers(Response(status_code=415), PROOF_POLICY)
        extension = media_type.rsplit("/", 1)[1]
        response = Response(data, media_type=media_type)
        response.headers["Content-Disposition"] = f'inline; filename="proof-{n}.{extension}"'
        _security_headers(response, PROOF_POLICY)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    @router.post("/withdrawals/{withdrawal_id}/decision")
    async def decision(
        request: Request,
        withdrawal_id: str,
        decision: str = Form("", max_length=16),
        comment: str = Form("", max_length=MAX_REVIEW_COMMENT_CHARS * 4),
        csrf_token: str = Form("", max_length=100),
    ) -> Response:
        withdrawal_id = withdrawal_id[:64]
        page_url = f"{PREFIX}/withdrawals/{quote(withdrawal_id)}"
        session = await _session(request)
        if session is None:  # back to the page after sign-in, never to a form post
            return RedirectResponse(f"{PREFIX}/sign-in?next={quote(page_url)}", status_code=303)
        if not session.csrf_matches(csrf_token):
            return _csrf_refused(request)
        t = _page(request, session)
        words = i18n.translator(t.language)
        comment = comment.strip()
        try:
            kind = ReviewDecisionKind(decision)
        except ValueError:
            return Response("decision must be approve or reject", status_code=400)
        if kind is ReviewDecisionKind.REJECT and not comment:
            session.flash = ("refused", words("reject_needs_comment"))
            return RedirectResponse(page_url, status_code=303)
        if len(comment) > MAX_REVIEW_COMMENT_CHARS:
            session.flash = ("refused", words("comment_too_long", limit=MAX_REVIEW_COMMENT_CHARS))
            return RedirectResponse(page_url, status_code=303)
        client = await _services(request).temporal()
        decided = await decisions.decide(client, session.reviewer, withdrawal_id, kind, comment)
        session.flash = _outcome(words, kind, decided)
        return RedirectResponse(page_url, status_code=303)

    return router


def _outcome(words: Any, kind: ReviewDecisionKind, decided: decisions.Decided) -> tuple[str, str]:
    label = words(f"{kind.value}_noun")
    recorded, doc = decided.recorded, decided.status
    if recorded is None:
        if doc is not None and doc.status is Status.UNDER_REVIEW:
            return ("refused", words("decision_not_weighed", decision=label))
        status = status_label(doc.status) if doc is not None else "closed"
        return ("refused", words("decision_too_late", status=status))
    if not recorded.accepted:
        return ("refused", words("decision_refused", decision=label, why=recorded.why))
    return ("accepted", words("decision_accepted", decision=label, why=recorded.why))


def _proof_type(reference: str) -> str:
    """``image`` or ``pdf`` from the stored file's first bytes, so the page embeds it right."""
    try:
        with proof_path(reference).open("rb") as file:
            head = file.read(PROOF_SNIFF_BYTES)
    except (OSError, InputError):
        return "missing"
    media_type = sniff_proof_type(head) or ""
    return "pdf" if media_type == "application/pdf" else "image" if media_type else "missing"


def mount(app: Any) -> None:
    """Add the console to the HTTP app (``api.app.create_app`` calls this)."""
    settings.display_timezone()  # an unknown DISPLAY_TIMEZONE stops the process at start
    app.state.console_sessions = SessionStore()
    app.include_router(console_router())
    app.add_middleware(BodyLimit, limits={PREFIX: MAX_CONSOLE_FORM_BYTES}, too_large=_too_large)


def _too_large(limit: int) -> Response:
    return PlainTextResponse(f"a console form is at most {limit} bytes", status_code=413)


__all__ = ["MAX_CONSOLE_FORM_BYTES", "PREFIX", "console_router", "mount"]
