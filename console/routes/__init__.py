"""The reviewer console's pages under ``/console`` (CONTRACT.md, "reviewer console").

Every page reads ``application/`` (the queue, one case, the status document) and every
decision goes through ``application.decisions.decide`` with a proof signed for the
reviewer who signed in here (``application.reviews``): the workflow, not this module,
decides whether it counts, and a refusal is shown as one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from api.body_limit import BodyLimit
from config import settings
from console.pages import MAX_CONSOLE_FORM_BYTES, PREFIX
from console.routes import assets, queue, sign_in, withdrawals
from console.sessions import SessionStore


def console_routers() -> list[APIRouter]:
    """Every console page, one router module per resource, each under ``PREFIX``; the app
    includes each itself, so a route's path stays its full template (the metrics label)."""
    return [assets.router, sign_in.router, queue.router, withdrawals.router]


def mount(app: Any) -> None:
    """Add the console to the HTTP app (``api.app.create_app`` calls this)."""
    settings.display_timezone()  # an unknown DISPLAY_TIMEZONE stops the process at start
    app.state.console_sessions = SessionStore()
    for router in console_routers():
        app.include_router(router)
    app.add_middleware(BodyLimit, limits={PREFIX: MAX_CONSOLE_FORM_BYTES}, too_large=_too_large)


def _too_large(limit: int) -> Response:
    return PlainTextResponse(f"a console form is at most {limit} bytes", status_code=413)


__all__ = ["MAX_CONSOLE_FORM_BYTES", "PREFIX", "console_routers", "mount"]
