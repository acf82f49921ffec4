"""``SmsProvider`` over HTTP, for the SMS simulator or any gateway that speaks its API.

A real SMS gateway is one class implementing ``gateways.sms.SmsProvider`` returned from
``sms_provider_from_env``. Timeouts, connection errors, 5xx and 429 raise ``SmsError``
(send again under the same key: the gateway delivers once); other 4xx raise
``SmsRejected``. ``inbox`` reads the simulator's record of a phone (the ``sms-inbox``
command); a real gateway has no such thing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx
from pydantic import TypeAdapter, ValidationError

from gateways.http_common import DEFAULT_TIMEOUT, request
from gateways.sms import SmsError, SmsRejected
from gateways.sms_messages import InboxMessage

SMS_GATEWAY_URL_ENV = "SMS_GATEWAY_URL"
DEFAULT_SMS_GATEWAY_URL = "http://127.0.0.1:8802"

MAX_INBOX_MESSAGES = 200

_INBOX = TypeAdapter(list[InboxMessage])


class HttpSmsProvider:
    """The SMS simulator's HTTP API as an ``SmsProvider``.

    Without a ``client`` each call opens a short-lived one (usable from any event loop);
    the worker passes a pooled client so a busy run does not pay a connection per code.
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

    async def send(self, phone: str, text: str, *, idempotency_key: str) -> None:
        body = {"phone": phone, "text": text, "idempotency_key": idempotency_key}
        response = await self._call("POST", "/messages", json=body)
        status = response.status_code
        if status == 200:
            return
        if status >= 500 or status == 429:
            raise SmsError(f"SMS gateway answered HTTP {status}")
        raise SmsRejected(f"SMS gateway refused the message: HTTP {status}")

    async def inbox(self, phone: str, limit: int = 50) -> list[InboxMessage]:
        """What the simulator delivered to ``phone``, newest first."""
        limit = max(1, min(limit, MAX_INBOX_MESSAGES))
        response = await self._call(
            "GET", "/messages", params={"phone": phone, "limit": str(limit)}
        )
        if response.status_code != 200:
            raise SmsError(f"SMS inbox answered HTTP {response.status_code}")
        try:
            return _INBOX.validate_json(response.content)
        except ValidationError:
            raise SmsError("unreadable SMS inbox") from None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        url = self.base_url + path
        try:
            return await request(self._client, self.timeout, method, url, json=json, params=params)
        except httpx.TimeoutException as error:
            raise SmsError(f"SMS gateway timed out ({type(error).__name__})") from None
        except httpx.RequestError as error:
            raise SmsError(f"SMS gateway unreachable ({type(error).__name__})") from None


def sms_provider_from_env(
    environ: Mapping[str, str] | None = None, client: httpx.AsyncClient | None = None
) -> HttpSmsProvider:
    """The gateway at ``SMS_GATEWAY_URL`` (default: the local simulator)."""
    env = os.environ if environ is None else environ
    return HttpSmsProvider(env.get(SMS_GATEWAY_URL_ENV) or DEFAULT_SMS_GATEWAY_URL, client=client)
