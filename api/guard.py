"""What every ``/v1`` request passes before it reaches a handler, in this order: the API key
(401), the key's rate limit (429 with ``Retry-After``), and the body size (413), the last
refused from the ``Content-Length`` header or, without one, as soon as the bytes read pass
the limit: a body is never read whole before it is known to fit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.keys import KeyRing
from api.problems import problem_response
from application.withdrawals import MAX_PROOF_BASE64_CHARS

GUARDED_PREFIX = "/v1"
# One proof at its limit (10 MiB, as base64) and the rest of the request beside it.
MAX_BODY_BYTES = MAX_PROOF_BASE64_CHARS + 64 * 1024
# Generous: a backend's normal use and the tests never meet them (env API_RATE_*).
RATE_PER_SECOND = 50.0
RATE_BURST = 500
ACTOR_SCOPE_KEY = "api_key_name"


@dataclass
class TokenBucket:
    """``burst`` requests at once, refilled at ``rate`` a second."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = self.clock()

    def take(self) -> float:
        """0 when a request may go ahead, else the seconds until one may."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class RateLimits:
    rate: float = RATE_PER_SECOND
    burst: int = RATE_BURST
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def wait_seconds(self, key_name: str) -> float:
        bucket = self.buckets.get(key_name)
        if bucket is None:
            bucket = self.buckets[key_name] = TokenBucket(self.rate, self.burst)
        return bucket.take()


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        keys: KeyRing,
        limits: RateLimits,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.keys = keys
        self.limits = limits
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(GUARDED_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        instance = str(scope["path"])
        name = self._key_name(headers.get("authorization", ""))
        if name is None:
            response = problem_response(
                401,
                "an API key is required: Authorization: Bearer KEY",
                instance=instance,
                headers={"WWW-Authenticate": 'Bearer realm="withdrawals"'},
            )
            await response(scope, receive, send)
            return
        wait = self.limits.wait_seconds(name)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            response = problem_response(
                429,
                f"rate limit of key {name!r} reached; retry in {retry_after} s",
                instance=instance,
                headers={"Retry-After": str(retry_after)},
            )
            await response(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send, instance)
            return
        try:
            body = await self._bounded_body(receive)
        except BodyTooLarge:
            await self._too_large(scope, receive, send, instance)
            return
        scope.setdefault("state", {})[ACTOR_SCOPE_KEY] = name
        await self.app(scope, _replay(body, receive), send)

    def _key_name(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.keys.name_of(token.strip())

    async def _bounded_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, instance: str) -> None:
        response = problem_response(
            413,
            f"the request body is larger than {self.max_body_bytes} bytes "
            "(a proof is at most 10 MiB)",
            instance=instance,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
            return message
        return await receive()

    return replay
