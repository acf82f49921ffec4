"""The HTTP payout client against the real simulator on a free port (R7–R9)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from gateways import webhook_signature
from gateways.http_payout import (
    DEFAULT_PAYOUT_GATEWAY_URL,
    HttpPayoutProvider,
    parse_callback,
    payout_provider_from_env,
)
from gateways.payout import KeyConflict, ProviderError, Transfer, TransferRejected, TransferState
from models.domain import Channel
from models.money import Money
from models.provider_reasons import ProviderReason
from standins.simulators.runner import RunningServer, start_simulator
from tests.gateways.conftest import CallbackReceiver, bank_request, new_key, original_request
from tests.support.polling import eventually


def movements(sim: RunningServer, key: str) -> int:
    return int(sim.stats()["movements"].get(key, 0))


async def test_submit_then_lookup_returns_the_settled_transfer(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    request = original_request()
    submitted = await payout.submit(request)
    # max_settle_seconds=0: the simulator settles before it answers.
    assert submitted.state is TransferState.SUCCEEDED
    assert submitted.amount == request.amount
    assert await payout.lookup(request.idempotency_key) == submitted
    assert movements(payout_sim, request.idempotency_key) == 1


async def test_lookup_of_unknown_key_is_none(payout: HttpPayoutProvider) -> None:
    assert await payout.lookup(new_key("never-sent")) is None


async def test_duplicate_key_returns_first_result_without_moving_money_again(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    request = bank_request()
    first = await payout.submit(request)
    assert await payout.submit(request) == first
    assert await payout.submit(request.model_copy(update={"callback_url": None})) == first
    assert movements(payout_sim, request.idempotency_key) == 1


async def test_same_key_with_other_details_is_refused(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    """409 is a key conflict, never ``TransferRejected`` (which releases money): issue 22."""
    request = bank_request()
    await payout.submit(request)
    with pytest.raises(KeyConflict) as refused:
        await payout.submit(bank_request(request.idempotency_key, amount="99.99"))
    assert refused.value.reason == ProviderReason.KEY_CONFLICT
    assert refused.value.provider_text == "idempotency key reused with different details"
    assert movements(payout_sim, request.idempotency_key) == 1


@pytest.mark.parametrize(
    ("account_number", "name", "reason"),
    [
        ("6222020200110000", "Zhang San", ProviderReason.ACCOUNT_INVALID),
        ("6222020200112233", "Closed Trading Co", ProviderReason.ACCOUNT_CLOSED),
    ],
)
async def test_magic_payees_are_refused_and_nothing_is_recorded(
    payout: HttpPayoutProvider,
    payout_sim: RunningServer,
    account_number: str,
    name: str,
    reason: str,
) -> None:
    request = bank_request(account_number=account_number, name=name)
    with pytest.raises(TransferRejected) as refused:
        await payout.submit(request)
    assert refused.value.reason == reason
    assert await payout.lookup(request.idempotency_key) is None
    assert movements(payout_sim, request.idempotency_key) == 0


async def test_original_route_past_its_r8_limit_is_refused(payout: HttpPayoutProvider) -> None:
    # R8: China Merchants Bank personal online banking allows 90 days.
    request = original_request(
        channel=Channel.ONLINE_BANKING_PERSONAL, bank="CMB", paid_days_ago=91
    )
    with pytest.raises(TransferRejected) as refused:
        await payout.submit(request)
    assert refused.value.reason == ProviderReason.ROUTE_EXPIRED
    assert refused.value.provider_text is not None
    assert refused.value.provider_text.startswith("original route expired: online_banking_personal")


async def test_magic_payee_4444_is_accepted_then_fails(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    request = bank_request(account_number="6222020200114444")
    transfer = await payout.submit(request)
    assert transfer.state is TransferState.FAILED
    assert transfer.reason == ProviderReason.ACCOUNT_CLOSED
    assert transfer.provider_text == "account closed at the receiving bank"
    assert movements(payout_sim, request.idempotency_key) == 1


async def test_closed_original_payer_fails_after_acceptance(payout: HttpPayoutProvider) -> None:
    transfer = await payout.submit(original_request(order_id="R-CLOSED-1"))
    assert transfer.state is TransferState.FAILED
    assert transfer.reason == ProviderReason.ACCOUNT_CLOSED
    assert transfer.provider_text == "original paying account closed or cannot receive"


async def test_malformed_request_is_refused_with_a_reason(payout_sim: RunningServer) -> None:
    response = httpx.post(payout_sim.url + "/transfers", json={"idempotency_key": "x"})
    assert response.status_code == 400
    assert response.json()["reason"].startswith("malformed request: ")


async def test_listing_and_stats_cover_every_accepted_transfer(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    keys = [(await payout.submit(original_request())).idempotency_key for _ in range(3)]
    listed = {transfer.idempotency_key for transfer in await payout.list_transfers()}
    assert set(keys) <= listed
    stats = payout_sim.stats()
    assert stats["total_movements"] == stats["transfers"] == sum(stats["movements"].values())


@pytest.fixture(scope="module")
def scaled_sim() -> Iterator[RunningServer]:
    # The longest route (15 business days) settles in 1.5 s: Alipay (1 hour) in ~4 ms,
    # bank card (2 business days) in 0.2 s, designated in 0.7–1.5 s.
    with start_simulator("payout", max_settle_seconds=1.5) as server:
        yield server


async def test_settlement_is_asynchronous_and_ordered_by_route(scaled_sim: RunningServer) -> None:
    payout = HttpPayoutProvider(scaled_sim.url)
    fast = original_request(channel=Channel.ALIPAY)
    card = original_request(channel=Channel.BANK_CARD)
    designated = bank_request()
    for request in (fast, card, designated):
        assert (await payout.submit(request)).state is TransferState.PROCESSING

    async def settled(key: str) -> Transfer | None:
        transfer = await payout.lookup(key)
        return transfer if transfer and transfer.state is not TransferState.PROCESSING else None

    fast_done = await eventually(lambda: settled(fast.idempotency_key), "alipay settlement")
    designated_now = await payout.lookup(designated.idempotency_key)
    assert designated_now is not None and designated_now.state is TransferState.PROCESSING
    card_done = await eventually(lambda: settled(card.idempotency_key), "bank card settlement")
    designated_done = await eventually(
        lambda: settled(designated.idempotency_key), "designated settlement"
    )
    assert fast_done.updated_at and card_done.updated_at and designated_done.updated_at
    assert fast_done.updated_at < card_done.updated_at < designated_done.updated_at
    assert designated_done.state is TransferState.SUCCEEDED


async def test_settlement_callback_is_delivered(
    scaled_sim: RunningServer, callbacks: CallbackReceiver
) -> None:
    payout = HttpPayoutProvider(scaled_sim.url)
    request = original_request(callback_url=callbacks.url)
    await payout.submit(request)
    [body] = callbacks.wait_for_count(1)
    notified = payout.parse_callback(body)
    assert notified.idempotency_key == request.idempotency_key
    assert notified.state is TransferState.SUCCEEDED
    assert notified == await payout.lookup(request.idempotency_key)


def test_parse_callback_refuses_garbage() -> None:
    with pytest.raises(ProviderError):
        parse_callback(b'{"state": "succeeded"}')


def test_provider_from_env_defaults_to_the_local_simulator() -> None:
    assert payout_provider_from_env({}).base_url == DEFAULT_PAYOUT_GATEWAY_URL
    configured = payout_provider_from_env({"PAYOUT_GATEWAY_URL": "http://pay.example:9/"})
    assert configured.base_url == "http://pay.example:9"


async def test_shared_client_is_used_when_given(payout_sim: RunningServer) -> None:
    async with httpx.AsyncClient() as client:
        payout = HttpPayoutProvider(payout_sim.url, client=client)
        request = original_request()
        assert (await payout.submit(request)).idempotency_key == request.idempotency_key


async def test_the_simulator_signs_its_callbacks_with_the_first_listed_secret(
    callbacks: CallbackReceiver,
) -> None:
    """Issue 26, item 1: ``PAYOUT_CALLBACK_SECRET=new,old`` while the secret is rotated; the
    provider (here the simulator) signs with the new one, the receiver accepts either."""
    new = "whsec_" + base64.b64encode(b"N" * 32).decode()
    old = "whsec_" + base64.b64encode(b"O" * 32).decode()
    with start_simulator("payout", max_settle_seconds=0, callback_secret=f"{new},{old}") as sim:
        await HttpPayoutProvider(sim.url).submit(original_request(callback_url=callbacks.url))
        [body] = callbacks.wait_for_count(1)
    [headers] = callbacks.headers[:1]
    now = datetime.now(UTC)
    assert webhook_signature.verify(new, headers, body, now)
    with pytest.raises(webhook_signature.WebhookVerificationError):
        webhook_signature.verify(old, headers, body, now)
    assert webhook_signature.verify(f"{new},{old}", headers, body, now)


def test_a_callbacks_free_text_reason_is_mapped_where_it_is_parsed() -> None:
    """Issue 22, item 7: the receiver's parse is one of the doors provider text enters by."""
    text = "account 6222020200114444 of Zhang San closed at the receiving bank"
    body = Transfer(
        idempotency_key="w-1", state=TransferState.FAILED, amount=Money.yuan("1.00"), reason=text
    ).model_dump_json()
    parsed = parse_callback(body.encode())
    assert parsed.reason == ProviderReason.ACCOUNT_CLOSED and parsed.provider_text == text
    assert "6222020200114444" not in repr(parsed) and "Zhang San" not in repr(parsed)
    assert parse_callback(parsed.model_dump_json().encode()) == parsed  # mapped once only
