"""Request bodies bounded before they are read (issue 22, item 6).

A body over its limit is refused from its ``Content-Length`` without reading a byte, and,
when there is no ``Content-Length`` (chunked), as soon as the bytes read pass the limit:
at most ``limit`` bytes plus one chunk are ever held, whatever the client sends. The
``/v1`` guard (``api.guard``), the reviewer console's form posts and the payout callback
receiver all bound their bodies with ``read_bounded`` (the last two through
``BodyLimit``), so there is one mechanism to trust.

Only starlette is imported: the callback receiver uses this without the HTTP API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TooLarge = Callable[[int], Response]  # the 413 answer, given the limit in bytes


class BodyTooLarge(Exception):
    pass


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or None when it has none (chunked) or a bad one."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def read_bounded(scope: Scope, receive: Receive, max_bytes: int) -> bytes:
    """The whole body, or ``BodyTooLarge`` before more than ``max_bytes`` are held."""
    declared = declared_length(scope)
    if declared is not None and declared > max_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real channel."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
            return message
        return await receive()

    return replayed


class BodyLimit:
    """ASGI middleware: requests under each path prefix of ``limits`` (bytes) are read
    within their limit before the app sees them; over it, ``too_large(limit)`` answers
    (413) and the connection is closed rather than drained."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int], too_large: TooLarge) -> None:
        self.app = app
        self.limits = dict(limits)
        self.too_large = too_large

    def _limit(self, scope: Scope) -> int | None:
        if scope["type"] != "http":
            return None
        path = str(scope["path"])
        return next((n for prefix, n in self.limits.items() if path.startswith(prefix)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await read_bounded(scope, receive, limit)
        except BodyTooLarge:
            response = self.too_large(limit)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)
