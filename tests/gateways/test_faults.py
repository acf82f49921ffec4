"""Each injected fault maps to the right client error and never moves money twice."""

from __future__ import annotations

import httpx
import pytest

from gateways.http_payout import HttpPayoutProvider
from gateways.payout import TransferRejected, TransferState, TransientProviderError
from standins.simulators.runner import RunningServer
from tests.gateways.conftest import CallbackReceiver, bank_request, original_request
from tests.support.polling import wait_for

SHORT_TIMEOUT = httpx.Timeout(0.1)


def movements(sim: RunningServer, key: str) -> int:
    return int(sim.stats()["movements"].get(key, 0))


async def test_injected_5xx_is_transient_and_moves_nothing(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    payout_sim.set_faults(error_rate=1.0)
    request = original_request()
    with pytest.raises(TransientProviderError):
        await payout.submit(request)
    with pytest.raises(TransientProviderError):
        await payout.lookup(request.idempotency_key)
    payout_sim.set_faults()
    assert await payout.lookup(request.idempotency_key) is None
    assert movements(payout_sim, request.idempotency_key) == 0


async def test_dropped_connection_is_transient_and_moves_nothing(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    payout_sim.set_faults(drop_rate=1.0)
    request = original_request()
    with pytest.raises(TransientProviderError):
        await payout.submit(request)
    assert payout_sim.fault_stats()["drop"] == 1
    payout_sim.set_faults()
    assert await payout.lookup(request.idempotency_key) is None
    assert movements(payout_sim, request.idempotency_key) == 0


@pytest.mark.parametrize("as_503", [False, True], ids=["dropped", "503"])
async def test_commit_then_drop_then_retry_moves_money_exactly_once(
    payout: HttpPayoutProvider, payout_sim: RunningServer, as_503: bool
) -> None:
    payout_sim.set_faults(commit_then_drop_rate=1.0, commit_then_drop_as_503=as_503)
    request = bank_request()
    for _ in range(3):  # every answer is lost, however often the client retries
        with pytest.raises(TransientProviderError):
            await payout.submit(request)
    payout_sim.set_faults()
    found = await payout.lookup(request.idempotency_key)
    assert found is not None and found.state is TransferState.SUCCEEDED
    assert await payout.submit(request) == found
    assert movements(payout_sim, request.idempotency_key) == 1


async def test_latency_beyond_the_client_timeout_is_transient(
    payout_sim: RunningServer,
) -> None:
    payout_sim.set_faults(latency_ms=300)
    impatient = HttpPayoutProvider(payout_sim.url, timeout=SHORT_TIMEOUT)
    request = original_request()
    with pytest.raises(TransientProviderError, match="timed out"):
        await impatient.submit(request)
    # The slow submit still completes on the provider side, so a retry under the same
    # key (slow too, and started later) answers with that first result.
    patient = HttpPayoutProvider(payout_sim.url)
    assert (await patient.submit(request)).state is TransferState.SUCCEEDED
    assert movements(payout_sim, request.idempotency_key) == 1
    assert payout_sim.fault_stats()["latency"] == 2


async def test_connection_refused_is_transient() -> None:
    with pytest.raises(TransientProviderError):
        await HttpPayoutProvider("http://127.0.0.1:9", timeout=SHORT_TIMEOUT).lookup("wd-1")


async def test_fail_after_accept_fault_ends_failed_with_a_reason(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    payout_sim.set_faults(fail_after_accept_rate=1.0)
    transfer = await payout.submit(original_request())
    assert transfer.state is TransferState.FAILED
    assert transfer.reason
    assert movements(payout_sim, transfer.idempotency_key) == 1


async def test_refusals_are_not_masked_by_faults_after_them(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    # A refused request never commits, so commit-then-drop has nothing to drop.
    payout_sim.set_faults(commit_then_drop_rate=1.0)
    with pytest.raises(TransferRejected):
        await payout.submit(bank_request(account_number="6222020200110000"))


async def test_lost_callback_is_never_sent_but_lookup_still_knows(
    payout: HttpPayoutProvider, payout_sim: RunningServer, callbacks: CallbackReceiver
) -> None:
    payout_sim.set_faults(callback_lose_rate=1.0)
    request = original_request(callback_url=callbacks.url)
    transfer = await payout.submit(request)
    wait_for(lambda: payout_sim.fault_stats().get("callback_lost"), "the callback to be lost")
    assert callbacks.received() == []
    assert await payout.lookup(request.idempotency_key) == transfer


async def test_duplicated_callback_arrives_twice_with_the_same_content(
    payout: HttpPayoutProvider, payout_sim: RunningServer, callbacks: CallbackReceiver
) -> None:
    payout_sim.set_faults(callback_duplicate_rate=1.0)
    await payout.submit(original_request(callback_url=callbacks.url))
    first, second = callbacks.wait_for_count(2)
    assert payout.parse_callback(first) == payout.parse_callback(second)


async def test_out_of_order_callbacks_send_a_stale_processing_after_the_final_one(
    payout: HttpPayoutProvider, payout_sim: RunningServer, callbacks: CallbackReceiver
) -> None:
    payout_sim.set_faults(callback_out_of_order=True)
    await payout.submit(original_request(callback_url=callbacks.url))
    final, stale = (payout.parse_callback(body) for body in callbacks.wait_for_count(2))
    assert final.state is TransferState.SUCCEEDED
    assert stale.state is TransferState.PROCESSING
    # What a receiver needs to ignore the stale one: it is older.
    assert stale.updated_at and final.updated_at and stale.updated_at < final.updated_at


async def test_same_seed_injects_the_same_faults(
    payout: HttpPayoutProvider, payout_sim: RunningServer
) -> None:
    async def outcomes() -> list[str]:
        payout_sim.set_faults(error_rate=0.5, seed=42)
        seen = []
        for _ in range(12):
            try:
                await payout.submit(original_request())
                seen.append("ok")
            except TransientProviderError:
                seen.append("error")
        return seen

    first, second = await outcomes(), await outcomes()
    assert first == second
    assert {"ok", "error"} == set(first)


async def test_admin_faults_round_trip(payout_sim: RunningServer) -> None:
    payout_sim.set_faults(latency_ms=5, error_rate=0.25, seed=7)
    faults = httpx.get(payout_sim.url + "/admin/faults").json()
    assert (faults["latency_ms"], faults["error_rate"], faults["seed"]) == (5, 0.25, 7)
    assert faults["drop_rate"] == 0.0  # the posted document replaces the whole set
    refused = httpx.post(payout_sim.url + "/admin/faults", json={"error_rate": 2})
    assert refused.status_code == 400
