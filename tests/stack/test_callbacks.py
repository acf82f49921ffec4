"""The callback receiver's answers. Without Temporal: the provider retries on 5xx only, so
a Temporal outage must be 503, junk must be 4xx, and anything not signed as Standard
Webhooks with ``PAYOUT_CALLBACK_SECRET``, stale, or replayed is 401 before its body is
even read (issue 12). End to end: a forged callback leaves a withdrawal's money held."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session
from temporalio.client import Client

from callbacks.forwarding import CallbackBudget
from callbacks.receiver import CALLBACK_PATH, MAX_CALLBACK_BYTES, create_app
from gateways import webhook_signature
from gateways.http_payout import parse_callback
from gateways.payout import Transfer, TransferState
from ledger.db import get_engine
from ledger.tables import CallbackForwarding
from models.limits import MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL
from models.money import Money

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"n" * 32).decode()


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


# ---- a secret rotated (issue 26, item 1) ---------------------------------------------------
async def test_during_a_rotation_a_callback_signed_under_any_listed_secret_is_accepted(
    tmp_path: Path,
) -> None:
    """``PAYOUT_CALLBACK_SECRET=new,old``: a provider still on the old secret and one
    already on the new one both get through; any other secret is still 401."""
    app = create_app(
        _answering_not_found,
        parse_callback,
        secret=f"{NEW_SECRET}, {SECRET}",
        engine=get_engine(f"sqlite:///{tmp_path / 'receiver.db'}"),
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
    body = body_of("w-rotated")

    async def post(headers: dict[str, str]) -> int:
        return (await http.post(CALLBACK_PATH, content=body, headers=headers)).status_code

    assert await post(signed(body, secret=SECRET)) == 404  # past the signature: no workflow
    assert await post(signed(body, secret=NEW_SECRET)) == 404
    assert await post(signed(body, secret=OTHER_SECRET)) == 401
    # Standard Webhooks: several signatures in one header; one good one is enough.
    both = signed(body, secret=OTHER_SECRET)
    old = webhook_signature.signature(
        SECRET, both["webhook-id"], int(both["webhook-timestamp"]), body
    )
    both["webhook-signature"] += " " + old
    assert await post(both) == 404


def test_a_malformed_secret_in_the_list_stops_the_receiver_at_start(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'receiver.db'}")
    with pytest.raises(ValueError, match="whsec_"):
        create_app(unreachable, parse_callback, secret=f"{SECRET},not-a-secret", engine=engine)


# ---- callbacks forwarded per withdrawal (issue 22, items 2 and 7) --------------------------
class _RecordingClient:
    """A Temporal client whose workflows all exist and take every signal, recorded."""

    def __init__(self) -> None:
        self.signalled: list[str] = []
        self._workflow_id = ""

    def get_workflow_handle(self, workflow_id: str) -> _RecordingClient:
        self._workflow_id = workflow_id
        return self

    async def signal(self, *args: object, **kwargs: object) -> None:
        self.signalled.append(self._workflow_id)


async def test_callbacks_past_the_per_withdrawal_limit_are_answered_200_and_not_forwarded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each callback forwarded is a signal in the withdrawal's history: a provider that
    loops must not grow it without bound. Past MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL the
    callbacks are counted and answered 200 (so the provider stops retrying them), logged
    without their body, and the count outlives a restart of the receiver."""
    caplog.set_level(logging.INFO)
    db = f"sqlite:///{tmp_path / 'receiver.db'}"
    client = _RecordingClient()

    async def connect_recording() -> Client:
        return client  # type: ignore[return-value]

    def receiver() -> httpx.AsyncClient:
        app = create_app(connect_recording, parse_callback, secret=SECRET, engine=get_engine(db))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")

    async def flood(http: httpx.AsyncClient, key: str, times: int) -> list[int]:
        body = body_of(key, TransferState.PROCESSING)
        return [
            (await http.post(CALLBACK_PATH, content=body, headers=signed(body))).status_code
            for _ in range(times)
        ]

    http = receiver()
    statuses = await flood(http, "w-flooded", MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL + 5)
    assert statuses == [200] * (MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL + 5)
    assert client.signalled.count("withdrawal-w-flooded") == MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL
    assert await flood(http, "w-calm", 1) == [200]  # per withdrawal: the others go on
    assert client.signalled.count("withdrawal-w-calm") == 1
    assert await flood(receiver(), "w-flooded", 1) == [200]  # a restarted receiver remembers
    assert client.signalled.count("withdrawal-w-flooded") == MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL
    with Session(get_engine(db)) as session:
        counted = session.get(CallbackForwarding, "w-flooded")
        assert counted is not None
        assert (counted.forwarded, counted.held_back) == (MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL, 6)
    held_back_lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "callbacks.receiver" and "past the limit" in r.getMessage()
    ]
    assert held_back_lines == [
        "payout callbacks for withdrawal w-flooded past the limit: 20 forwarded, 1 held back"
    ]  # once, then every HELD_BACK_LOG_EVERY: a flood does not flood the log either


async def test_a_callback_not_delivered_does_not_count_against_the_limit(tmp_path: Path) -> None:
    """503 (Temporal away) makes the provider retry: that retry must still be forwarded."""
    db = f"sqlite:///{tmp_path / 'receiver.db'}"
    down = create_app(unreachable, parse_callback, secret=SECRET, engine=get_engine(db))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://r")
    body = body_of("w-retried", TransferState.SUCCEEDED)
    for _ in range(MAX_CALLBACKS_FORWARDED_PER_WITHDRAWAL + 3):
        response = await http.post(CALLBACK_PATH, content=body, headers=signed(body))
        assert response.status_code == 503
    with Session(get_engine(db)) as session:
        counted = session.get(CallbackForwarding, "w-retried")
        assert counted is not None and counted.forwarded == 0


async def test_a_callback_for_a_key_longer_than_any_withdrawal_id_is_404_and_uncounted(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'receiver.db'}"
    app = create_app(_answering_not_found, parse_callback, secret=SECRET, engine=get_engine(db))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
    body = body_of("w" * 200)
    assert (await http.post(CALLBACK_PATH, content=body, headers=signed(body))).status_code == 404
    with Session(get_engine(db)) as session:
        assert session.get(CallbackForwarding, "w" * 200) is None


@pytest.mark.parametrize("database", ["sqlite_url", "postgres_url"])
async def test_racing_callbacks_never_forward_more_than_the_limit(
    database: str, request: pytest.FixtureRequest
) -> None:
    """Receivers racing for one withdrawal's last places (one conditional UPDATE each):
    exactly the limit is forwarded, the rest counted as held back, on either database."""
    url: str = request.getfixturevalue(database)
    budget = CallbackBudget(get_engine(url))
    taken = await asyncio.gather(*(budget.take("w-raced") for _ in range(budget.limit + 10)))
    assert sum(t.forward for t in taken) == budget.limit
    with Session(get_engine(url)) as session:
        counted = session.get(CallbackForwarding, "w-raced")
        assert counted is not None and (counted.forwarded, counted.held_back) == (budget.limit, 10)
