"""The callback receiver's answers. Without Temporal: the provider retries on 5xx only, so
a Temporal outage must be 503, junk must be 4xx, and anything not signed as Standard
Webhooks with ``PAYOUT_CALLBACK_SECRET``, stale, or replayed is 401 before its body is
even read (issue 12). End to end: a forged callback leaves a withdrawal's money held."""

from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from callbacks.receiver import CALLBACK_PATH, MAX_CALLBACK_BYTES, create_app
from gateways import webhook_signature
from gateways.http_payout import parse_callback
from gateways.payout import Transfer, TransferState
from ledger.db import get_engine
from models.money import Money

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()


async def unreachable() -> Client:
    raise RuntimeError("Failed client connect: connection refused")


def body_of(key: str = "w-1", state: TransferState = TransferState.FAILED) -> bytes:
    transfer = Transfer(idempotency_key=key, state=state, amount=Money.yuan("1.00"))
    return transfer.model_dump_json().encode()


def signed(
    body: bytes, *, secret: str = SECRET, webhook_id: str | None = None, at: int | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    msg_id = webhook_id or f"msg_{time.monotonic_ns()}"
    return webhook_signature.signed_headers(secret, msg_id, stamp, body)


class Receiver:
    """The ASGI app on a database file: a new ``Receiver`` on the same file is a restart."""

    def __init__(self, db: Path) -> None:
        app = create_app(
            unreachable,
            parse_callback,
            secret=SECRET,
            engine=get_engine(f"sqlite:///{db}"),
        )
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://receiver"
        )

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post(CALLBACK_PATH, content=body, headers=headers or {})


@pytest.fixture
def receiver(tmp_path: Path) -> Receiver:
    return Receiver(tmp_path / "receiver.db")


async def test_temporal_outage_answers_503_so_the_provider_retries(receiver: Receiver) -> None:
    body = body_of(state=TransferState.SUCCEEDED)
    headers = signed(body, webhook_id="msg_retry")
    assert (await receiver.post(body, headers)).status_code == 503
    # The provider's retry carries the same webhook-id: it must not be taken for a replay.
    again = signed(body, webhook_id="msg_retry")
    assert (await receiver.post(body, again)).status_code == 503


async def test_unreadable_body_answers_400(receiver: Receiver) -> None:
    response = await receiver.post(b"not json", signed(b"not json"))
    assert response.status_code == 400
    assert "unreadable payout callback" in response.json()["reason"]


async def test_oversized_body_answers_413(receiver: Receiver) -> None:
    response = await receiver.post(b"x" * (MAX_CALLBACK_BYTES + 1))
    assert response.status_code == 413


async def test_health_needs_no_temporal(receiver: Receiver) -> None:
    assert (await receiver.http.get("/health")).json() == {"status": "ok"}


async def test_unsigned_wrongly_signed_and_stale_callbacks_are_401_and_not_logged(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = body_of("w-forged-unsigned")
    assert (await receiver.post(body)).status_code == 401
    wrong = signed(body, secret=OTHER_SECRET)
    assert (await receiver.post(body, wrong)).status_code == 401
    tampered = signed(body)
    assert (await receiver.post(body_of("w-forged-other"), tampered)).status_code == 401
    stale = signed(body, at=int(time.time()) - webhook_signature.TOLERANCE_SECONDS - 5)
    assert (await receiver.post(body, stale)).status_code == 401
    future = signed(body, at=int(time.time()) + webhook_signature.TOLERANCE_SECONDS + 5)
    assert (await receiver.post(body, future)).status_code == 401
    assert "w-forged" not in caplog.text  # logged without the body
    assert caplog.text.count("refused (401)") == 5


async def test_a_replayed_webhook_id_is_refused_even_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "receiver.db"
    body = body_of("w-replay", TransferState.PROCESSING)
    headers = signed(body, webhook_id="msg_once")
    first = await Receiver(db).post(body, headers)
    assert first.status_code == 503  # got through the checks; Temporal is down here
    # 503 forgets the id (the provider retries); a success remembers it:
    ok_app = create_app(
        _answering_not_found, parse_callback, secret=SECRET, engine=get_engine(f"sqlite:///{db}")
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=ok_app), base_url="http://r")
    assert (await http.post(CALLBACK_PATH, content=body, headers=headers)).status_code != 401
    assert (await http.post(CALLBACK_PATH, content=body, headers=headers)).status_code == 401
    restarted = Receiver(db)  # a new process on the same database
    assert (await restarted.post(body, headers)).status_code == 401


class _NoSuchWorkflowClient:
    """A Temporal client whose every workflow is unknown: the receiver answers 404."""

    def get_workflow_handle(self, workflow_id: str) -> _NoSuchWorkflowClient:
        return self

    async def signal(self, *args: object, **kwargs: object) -> None:
        from temporalio.service import RPCError, RPCStatusCode

        raise RPCError("not found", RPCStatusCode.NOT_FOUND, b"")

    async def describe(self) -> None:
        await self.signal()


async def _answering_not_found() -> Client:
    return _NoSuchWorkflowClient()  # type: ignore[return-value]


def test_signatures_follow_standard_webhooks() -> None:
    """The published Standard Webhooks test vector, so any provider library interoperates."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert webhook_signature.signature(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body
    ) == (expected)
    now = datetime.fromtimestamp(1614265330 + 10, UTC)
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": f"v1,bogus {expected}",
    }
    assert webhook_signature.verify(secret, headers, body, now) == "msg_p5jXN8AQM9LWM0D4loKWxJek"
