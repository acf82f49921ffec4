"""``PayoutProvider`` over HTTP, for the payout simulator or any provider that speaks its API.

Adding a real bank or Alipay adapter means writing one class that implements
``gateways.payout.PayoutProvider`` (``submit``, ``lookup``, ``parse_callback``) and
returning it from ``payout_provider_from_env``: the workflow and activities only see the
interface. The contract every adapter keeps:

- the withdrawal id is the idempotency key, and a repeated key returns the first result;
- an unknown outcome (timeout, connection error, dropped reply, 5xx, 429) raises
  ``TransientProviderError``: the caller looks the key up and retries under the same key;
- a refusal for good (HTTP 4xx with ``{"reason": ...}``) raises ``TransferRejected``;
- the key already taken with other details (HTTP 409) raises ``KeyConflict``: a transfer
  exists under the key, so it is never a refusal that releases the money;
- ``lookup`` of a key the provider never accepted returns None (HTTP 404);
- the provider's free-text reasons are mapped to ``models.provider_reasons`` before
  anything else sees them (``gateways.payout.as_received`` and ``refusal``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from gateways.http_common import DEFAULT_TIMEOUT, request
from gateways.payout import (
    KeyConflict,
    ProviderError,
    Transfer,
    TransferRequest,
    TransferState,
    TransientProviderError,
    as_received,
    refusal,
)

PAYOUT_GATEWAY_URL_ENV = "PAYOUT_GATEWAY_URL"
DEFAULT_PAYOUT_GATEWAY_URL = "http://127.0.0.1:8801"

MAX_LIST_LIMIT = 10_000
MAX_REASON_CHARS = 500  # a provider's error text, kept in the history only: keep it a line

# 404 on submit means a wrong base URL, 408/429 mean "later": none of them is the
# provider refusing this transfer, so they must not fail a customer's withdrawal.
_TRANSIENT_CLIENT_STATUSES = frozenset({404, 408, 425, 429})


def parse_callback(body: bytes) -> Transfer:
    """The simulator's settlement notification (the ``Transfer`` JSON) as a ``Transfer``.

    Callbacks may come late, twice or out of order: a receiver must ignore a
    ``processing`` notice for a transfer it already knows as settled.
    """
    try:
        return as_received(Transfer.model_validate_json(body))
    except ValidationError as error:
        raise ProviderError(f"unreadable payout callback: {error.error_count()} problems") from None


class HttpPayoutProvider:
    """The payout simulator's HTTP API as a ``PayoutProvider``.

    Without a ``client`` each call opens its own short-lived ``httpx.AsyncClient``, so an
    instance can be shared by activities on any event loop; pass a client to pool
    connections (and close it yourself).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = client

    async def submit(self, request: TransferRequest) -> Transfer:
        response = await self._call("POST", "/transfers", json=request.model_dump(mode="json"))
        if response.status_code == 200:
            # Returned as the provider answered: whether it is this withdrawal's transfer
            # is the one check's to say (``models.provider_record``), which parks it if not.
            return _transfer_from(response)
        raise _refusal_or_transient(response)

    async def lookup(self, idempotency_key: str) -> Transfer | None:
        response = await self._call("GET", "/transfers/" + quote(idempotency_key, safe=""))
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            return _transfer_from(response)
        raise TransientProviderError(f"payout look-up answered HTTP {response.status_code}")

    def parse_callback(self, body: bytes) -> Transfer:
        return parse_callback(body)

    async def list_transfers(
        self,
        limit: int = 1000,
        *,
        state: TransferState | None = None,
        updated_since: datetime | None = None,
    ) -> list[Transfer]:
        """The transfers the provider knows, for reconciliation (at most ``limit``), only
        those in ``state`` and updated at or after ``updated_since`` when given."""
        params: dict[str, int | str] = {"limit": max(1, min(limit, MAX_LIST_LIMIT))}
        if state is not None:
            params["state"] = state.value
        if updated_since is not None:
            params["updated_since"] = updated_since.isoformat()
        response = await self._call("GET", "/transfers", params=params)
        if response.status_code != 200:
            raise TransientProviderError(f"payout listing answered HTTP {response.status_code}")
        try:
            return [as_received(Transfer.model_validate(item)) for item in response.json()]
        except (ValueError, ValidationError):
            raise TransientProviderError("unreadable payout listing") from None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, int | str] | None = None,
    ) -> httpx.Response:
        url = self.base_url + path
        try:
            return await request(self._client, self.timeout, method, url, json=json, params=params)
        except httpx.TimeoutException as error:
            problem = f"payout provider timed out ({type(error).__name__})"
            raise TransientProviderError(problem) from error
        except httpx.RequestError as error:
            # Connection refused, reset, or closed before a full reply: outcome unknown.
            raise TransientProviderError(
                f"payout provider unreachable ({type(error).__name__})"
            ) from error


def _transfer_from(response: httpx.Response) -> Transfer:
    try:
        return as_received(Transfer.model_validate_json(response.content))
    except ValidationError:
        # A garbled 200 leaves the outcome unknown: the caller must look the key up.
        raise TransientProviderError("unreadable payout provider reply") from None


def _reason(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    reason = body.get("reason") if isinstance(body, dict) else None
    return str(reason)[:MAX_REASON_CHARS] if reason else None


def _refusal_or_transient(response: httpx.Response) -> ProviderError:
    status = response.status_code
    if status == 409:
        return KeyConflict(_reason(response))
    if status >= 500 or status in _TRANSIENT_CLIENT_STATUSES or status < 400:
        return TransientProviderError(f"payout provider answered HTTP {status}")
    return refusal(_reason(response) or f"payout provider refused: HTTP {status}")


def payout_provider_from_env(
    environ: Mapping[str, str] | None = None, client: httpx.AsyncClient | None = None
) -> HttpPayoutProvider:
    """The provider at ``PAYOUT_GATEWAY_URL`` (default: the local simulator)."""
    env = os.environ if environ is None else environ
    return HttpPayoutProvider(
        env.get(PAYOUT_GATEWAY_URL_ENV) or DEFAULT_PAYOUT_GATEWAY_URL, client=client
    )
