"""What the HTTP provider clients share: bounded timeouts and one TLS context.

Building a TLS context (loading the CA bundle) costs ~40 ms, more than a call to a local
simulator; the clients open a short-lived ``httpx.AsyncClient`` per call, so they share
one context built on first use.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx

# Bounded so a hung provider turns into a retry instead of a stuck activity; well under
# models.limits.PROVIDER_CALL_TIMEOUT_SECONDS so the activity sees our error, not its own.
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
WRITE_TIMEOUT_SECONDS = 5.0
POOL_TIMEOUT_SECONDS = 3.0
DEFAULT_TIMEOUT = httpx.Timeout(
    connect=CONNECT_TIMEOUT_SECONDS,
    read=READ_TIMEOUT_SECONDS,
    write=WRITE_TIMEOUT_SECONDS,
    pool=POOL_TIMEOUT_SECONDS,
)


@cache
def shared_tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def new_client(timeout: httpx.Timeout) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, verify=shared_tls_context())


async def request(
    client: httpx.AsyncClient | None,
    timeout: httpx.Timeout,
    method: str,
    url: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    """One call through the pooled ``client`` if there is one, else a short-lived one;
    httpx's timeout and connection errors are left for the caller to name."""
    if client is not None:
        return await client.request(method, url, json=json, params=params, timeout=timeout)
    async with new_client(timeout) as own:
        return await own.request(method, url, json=json, params=params)
