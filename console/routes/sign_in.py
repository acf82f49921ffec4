"""Signing in (a CSRF cookie guards the form) and out."""

from __future__ import annotations

import asyncio
import secrets

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from application.reviews import authenticate
from console.pages import (
    MAX_REVIEWER_ID_CHARS,
    PREFIX,
    SESSION_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    csrf_refused,
    page_for,
    safe_next,
    secure_cookies,
    security_headers,
    services_of,
    session_store,
    signed_in_session,
    to_sign_in,
    utc_now,
)
from console.sessions import SESSION_MAX_HOURS
from models.errors import AuthenticationFailed
from models.passwords import MAX_PASSWORD_CHARS

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str = "") -> Response:
    if await signed_in_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(request, next)


def _sign_in_page(
    request: Request, next: str, message_key: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page_for(request).render(
        "sign_in.html",
        status_code,
        sign_in_csrf=token,
        next=safe_next(next),
        message_key=message_key,
    )
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
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
        return csrf_refused(request)
    engine = services_of(request).engine
    try:
        reviewer = await asyncio.to_thread(authenticate, engine, reviewer_id.strip(), password)
    except AuthenticationFailed:
        return _sign_in_page(request, next, "auth_failed", 401)
    session = session_store(request).start(reviewer, utc_now())
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_store(request).cookie_value(session),
        max_age=SESSION_MAX_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path=PREFIX,
    )
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path=PREFIX)
    return security_headers(response)


@router.post("/sign-out")
async def sign_out(request: Request, csrf_token: str = Form("", max_length=100)) -> Response:
    session = await signed_in_session(request)
    if session is None:
        return to_sign_in(request)
    if not session.csrf_matches(csrf_token):
        return csrf_refused(request)
    session_store(request).end(session)
    response = page_for(request).render("message.html", message_key="signed_out", sign_in=True)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
