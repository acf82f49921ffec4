"""The console's entry, its static files and the language switch."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from console import i18n
from console.pages import (
    LANGUAGE_COOKIE,
    PREFIX,
    STATIC_TYPES,
    safe_next,
)

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
    response = RedirectResponse(safe_next(next), status_code=303)
    if to in i18n.LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, to, max_age=365 * 86400, path=PREFIX, samesite="strict"
        )
    return response
