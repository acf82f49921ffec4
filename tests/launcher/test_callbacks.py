"""The callback receiver's answers that need no Temporal: the provider retries on 5xx only,
so a Temporal outage must be 503, and junk must be 4xx (retrying it would not help)."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from gateways.http_payout import parse_callback
from gateways.payout import Transfer, TransferState
from models.money import Money
from service.callbacks import CALLBACK_PATH, MAX_CALLBACK_BYTES, create_app


async def unreachable() -> Client:
    raise RuntimeError("Failed client connect: connection refused")


async def post(body: bytes) -> httpx.Response:
    async with receiver() as http:
        return await http.post(CALLBACK_PATH, content=body)


def receiver() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(unreachable, parse_callback))
    return httpx.AsyncClient(transport=transport, base_url="http://receiver")


async def test_temporal_outage_answers_503_so_the_provider_retries() -> None:
    transfer = Transfer(
        idempotency_key="w-1", state=TransferState.SUCCEEDED, amount=Money.yuan("1.00")
    )
    response = await post(transfer.model_dump_json().encode())
    assert response.status_code == 503


async def test_unreadable_body_answers_400() -> None:
    response = await post(b"not json")
    assert response.status_code == 400
    assert "unreadable payout callback" in response.json()["reason"]


async def test_oversized_body_answers_413() -> None:
    response = await post(b"x" * (MAX_CALLBACK_BYTES + 1))
    assert response.status_code == 413


async def test_health_needs_no_temporal() -> None:
    async with receiver() as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
