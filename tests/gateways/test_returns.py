"""Returns after success on the provider side (issue 25): the simulator's magic returned
payees succeed, then turn ``returned`` with a time and a reason from the fixed list, the
listing finds them by state or time, a signed callback announces them, and the record
never changes again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gateways.http_payout import HttpPayoutProvider
from gateways.payout import ReturnReason, Transfer, TransferState
from models.money import Money
from standins.fakes import FakePayoutProvider
from standins.magic_payees import NOMINAL_RETURN_DELAY
from standins.simulators.payout_app import PayoutSimulatorSettings
from standins.simulators.runner import RunningServer, start_simulator
from tests.gateways.conftest import CallbackReceiver, bank_request, original_request
from tests.support.polling import eventually

RETURN_AFTER_SECONDS = 0.3
SECRET = "whsec_" + "cmV0dXJucy10ZXN0LXNlY3JldC0zMmJ5dGVzISEhIQ=="


@pytest.fixture(scope="module")
def returning_sim() -> Iterator[RunningServer]:
    with start_simulator(
        "payout",
        max_settle_seconds=0,
        return_after_seconds=RETURN_AFTER_SECONDS,
        callback_secret=SECRET,
    ) as server:
        yield server


async def _returned(payout: HttpPayoutProvider, key: str) -> Transfer:
    async def probe() -> Transfer | None:
        found = await payout.lookup(key)
        return found if found and found.state is TransferState.RETURNED else None

    return await eventually(probe, f"{key} returned")


async def test_a_5555_payee_succeeds_then_is_returned_with_time_and_reason(
    returning_sim: RunningServer,
) -> None:
    payout = HttpPayoutProvider(returning_sim.url)
    request = bank_request(account_number="6222020200115555")
    submitted = await payout.submit(request)
    assert submitted.state is TransferState.SUCCEEDED  # paid first
    back = await _returned(payout, request.idempotency_key)
    assert back.return_reason is ReturnReason.ACCOUNT_CLOSED
    assert back.returned_at is not None and back.amount_returned == request.amount
    assert returning_sim.stats()["movements"][request.idempotency_key] == 1
    time.sleep(RETURN_AFTER_SECONDS)
    assert await payout.lookup(request.idempotency_key) == back  # never changes again


async def test_an_original_route_order_marked_returned_is_returned(
    returning_sim: RunningServer,
) -> None:
    payout = HttpPayoutProvider(returning_sim.url)
    request = original_request(order_id="R-RETURNED-1")
    back = await _returned(payout, (await payout.submit(request)).idempotency_key)
    assert back.return_reason is ReturnReason.CANNOT_RECEIVE


async def test_other_payees_are_never_returned(returning_sim: RunningServer) -> None:
    payout = HttpPayoutProvider(returning_sim.url)
    request = bank_request()
    await payout.submit(request)
    time.sleep(RETURN_AFTER_SECONDS * 2)
    found = await payout.lookup(request.idempotency_key)
    assert found is not None and found.state is TransferState.SUCCEEDED


async def test_listing_filters_by_state_and_time_so_late_returns_are_not_missed(
    returning_sim: RunningServer,
) -> None:
    payout = HttpPayoutProvider(returning_sim.url)
    before = datetime.now(UTC)
    request = bank_request(account_number="6222020200125555")
    await payout.submit(request)
    await payout.submit(bank_request())  # succeeds and stays so
    await _returned(payout, request.idempotency_key)
    listed = await payout.list_transfers(state=TransferState.RETURNED, updated_since=before)
    assert [t.idempotency_key for t in listed] == [request.idempotency_key]
    later = await payout.list_transfers(
        state=TransferState.RETURNED, updated_since=datetime.now(UTC)
    )
    assert later == []


async def test_a_signed_callback_announces_the_return(
    returning_sim: RunningServer, callbacks: CallbackReceiver
) -> None:
    payout = HttpPayoutProvider(returning_sim.url)
    request = bank_request(account_number="6222020200135555", callback_url=callbacks.url)
    await payout.submit(request)
    settled, back = callbacks.wait_for_count(2)
    assert payout.parse_callback(settled).state is TransferState.SUCCEEDED
    announced = payout.parse_callback(back)
    assert announced.state is TransferState.RETURNED
    assert announced.return_reason is ReturnReason.ACCOUNT_CLOSED


def test_the_return_delay_is_30_days_scaled_like_settlement() -> None:
    """About 20 s under `make run` (10 s settlement), about a second in tests."""
    make_run = PayoutSimulatorSettings()
    assert NOMINAL_RETURN_DELAY.days == 30
    assert make_run.real_return_delay_seconds() == pytest.approx(20.0)
    assert PayoutSimulatorSettings(
        max_settle_seconds=0.5
    ).real_return_delay_seconds() == pytest.approx(1.0)
    assert PayoutSimulatorSettings(return_after_seconds=3).real_return_delay_seconds() == 3


async def test_the_fake_returns_only_a_succeeded_transfer_once() -> None:
    fake = FakePayoutProvider(auto_settle=True)
    await fake.submit(bank_request("wd-r", account_number="6222020200145555"))
    back = fake.return_transfer("wd-r")
    assert back.state is TransferState.RETURNED
    assert fake.return_transfer("wd-r", amount=Money.yuan("1.00")) == back
    assert await fake.list_transfers(state=TransferState.RETURNED) == [back]
