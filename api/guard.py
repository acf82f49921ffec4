"""What every ``/v1`` request passes before it reaches a handler, in this order: the API key
(401), the key's rate limit (429 with ``Retry-After``), and the body size (413), the last
refused from the ``Content-Length`` header or, without one, as soon as the bytes read pass
the limit: a body is never read whole before it is known to fit (``api.body_limit``).

A 409 ("this id was first used for a different request") costs its key
``CONFLICT_COST_REQUESTS`` requests of its rate: a key cannot probe what a withdrawal
was asked with faster than it could by any other means (issue 22, item 7).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_limit import BodyTooLarge, read_bounded, replay
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
# One 409 costs one second of the default rate: a few conflicts are a backend's bug,
# thousands are someone guessing what a withdrawal was asked with.
CONFLICT_COST_REQUESTS = 50


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
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def spend(self, requests: float) -> None:
        """``requests`` more, into debt if need be: the next requests wait until the
        rate has paid it back."""
        self._refill()
        self.tokens -= requests

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now


@dataclass
class RateLimits:
    rate: float = RATE_PER_SECOND
    burst: int = RATE_BURST
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def wait_seconds(self, key_name: str) -> float:
        return self._bucket(key_name).take()

    def charge(self, key_name: str, requests: float) -> None:
        self._bucket(key_name).spend(requests)

    def _bucket(self, key_name: str) -> TokenBucket:
        bucket = self.buckets.get(key_name)
        if bucket is None:
            bucket = self.buckets[key_name] = TokenBucket(self.rate, self.burst)
        return bucket


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
        try:
            body = await read_bounded(scope, receive, self.max_body_bytes)
        except BodyTooLarge:
            await self._too_large(scope, receive, send, instance)
            return
        scope.setdefault("state", {})[ACTOR_SCOPE_KEY] = name
        await self.app(scope, replay(body, receive), self._charging_conflicts(name, send))

    def _charging_conflicts(self, name: str, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 409:
                self.limits.charge(name, CONFLICT_COST_REQUESTS)
            await send(message)

        return sending

    def _key_name(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.keys.name_of(token.strip())

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, instance: str) -> None:
        response = problem_response(
            413,
            f"the request body is larger than {self.max_body_bytes} bytes "
            "(a proof is at most 10 MiB)",
            instance=instance,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
