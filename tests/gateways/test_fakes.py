"""The in-process fakes keep the providers' promises: one key, one money movement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateways.payout import KeyConflict, TransferRejected, TransferState, TransientProviderError
from gateways.sms import SmsError
from models.domain import Channel
from models.provider_reasons import ProviderReason
from standins.fakes import FakePayoutProvider, FakeSmsProvider
from standins.magic_payees import CONFLICTING_KEY_REASON
from tests.gateways.conftest import bank_request, original_request


async def test_same_key_returns_first_result_and_moves_money_once() -> None:
    fake = FakePayoutProvider()
    request = original_request("wd-1")
    first = await fake.submit(request)
    again = await fake.submit(request)
    assert again == first
    assert first.state is TransferState.PROCESSING
    assert fake.moved_count("wd-1") == 1
    assert fake.total_moved() == 1


async def test_same_key_with_other_amount_or_payee_is_refused() -> None:
    """A key conflict, never a refusal that would release money (issue 22)."""
    fake = FakePayoutProvider()
    await fake.submit(bank_request("wd-1"))
    with pytest.raises(KeyConflict) as other_amount:
        await fake.submit(bank_request("wd-1", amount="100.01"))
    with pytest.raises(KeyConflict):
        await fake.submit(bank_request("wd-1", account_number="6222020200119999"))
    assert other_amount.value.reason == ProviderReason.KEY_CONFLICT
    assert other_amount.value.provider_text == CONFLICTING_KEY_REASON
    assert fake.moved_count("wd-1") == 1


async def test_commit_then_raise_then_retry_moves_money_exactly_once() -> None:
    fake = FakePayoutProvider()
    request = original_request("wd-1")
    fake.drop_next_responses(1)
    with pytest.raises(TransientProviderError):
        await fake.submit(request)
    found = await fake.lookup("wd-1")
    assert found is not None and found.state is TransferState.PROCESSING
    retried = await fake.submit(request)
    assert retried == found
    assert fake.moved_count("wd-1") == 1


async def test_failure_before_commit_moves_nothing() -> None:
    fake = FakePayoutProvider()
    request = original_request("wd-1")
    fake.fail_next_submits(2)
    for _ in range(2):
        with pytest.raises(TransientProviderError):
            await fake.submit(request)
    assert await fake.lookup("wd-1") is None
    assert fake.moved_count("wd-1") == 0
    await fake.submit(request)
    assert fake.moved_count("wd-1") == 1
    assert fake.submit_calls == 3


async def test_lookup_failures_are_scriptable() -> None:
    fake = FakePayoutProvider()
    fake.fail_next_lookups()
    with pytest.raises(TransientProviderError):
        await fake.lookup("wd-1")
    assert await fake.lookup("wd-1") is None


async def test_settle_and_fail_on_demand_are_final() -> None:
    fake = FakePayoutProvider()
    await fake.submit(original_request("wd-ok"))
    await fake.submit(original_request("wd-bad"))
    assert fake.settle("wd-ok").state is TransferState.SUCCEEDED
    failed = fake.fail("wd-bad", "payee bank returned the transfer")
    assert failed.state is TransferState.FAILED
    assert failed.reason == "payee bank returned the transfer"
    # Settled transfers are immutable: a late settle or fail changes nothing.
    assert fake.fail("wd-ok", "late").state is TransferState.SUCCEEDED
    assert fake.settle("wd-bad").state is TransferState.FAILED
    assert fake.parse_callback(fake.callback_body("wd-ok")) == fake.settle("wd-ok")
    # What the service sees of the failure: the word, the provider's text kept apart.
    seen = await fake.lookup("wd-bad")
    assert seen is not None and seen.reason == ProviderReason.RETURNED
    assert seen.provider_text == "payee bank returned the transfer"


@pytest.mark.parametrize(
    ("account_number", "name", "reason"),
    [
        ("6222020200110000", "Zhang San", ProviderReason.ACCOUNT_INVALID),
        ("6222020200112233", "CLOSED Trading Co", ProviderReason.ACCOUNT_CLOSED),
    ],
)
async def test_magic_payees_are_refused_at_submit(
    account_number: str, name: str, reason: str
) -> None:
    fake = FakePayoutProvider()
    with pytest.raises(TransferRejected) as refused:
        await fake.submit(bank_request("wd-1", account_number=account_number, name=name))
    assert refused.value.reason == reason
    assert fake.moved_count("wd-1") == 0
    assert await fake.lookup("wd-1") is None


async def test_magic_payee_4444_is_accepted_then_fails() -> None:
    fake = FakePayoutProvider(auto_settle=True)
    transfer = await fake.submit(bank_request("wd-1", account_number="6222020200114444"))
    assert transfer.state is TransferState.FAILED
    assert transfer.reason == ProviderReason.ACCOUNT_CLOSED
    assert transfer.provider_text == "account closed at the receiving bank"
    assert fake.moved_count("wd-1") == 1


async def test_original_route_past_r8_limit_is_refused() -> None:
    # R8: ICBC personal online banking keeps the original route open for 30 days.
    fake = FakePayoutProvider()
    expired = original_request(
        "wd-1", channel=Channel.ONLINE_BANKING_PERSONAL, bank="ICBC", paid_days_ago=31
    )
    with pytest.raises(TransferRejected) as refused:
        await fake.submit(expired)
    assert refused.value.reason == ProviderReason.ROUTE_EXPIRED
    assert (refused.value.provider_text or "").startswith("original route expired: ")
    still_open = original_request(
        "wd-2", channel=Channel.ONLINE_BANKING_PERSONAL, bank="ICBC", paid_days_ago=29
    )
    assert (await fake.submit(still_open)).state is TransferState.PROCESSING


async def test_fake_clock_decides_the_original_route_deadline() -> None:
    request = original_request("wd-1", channel=Channel.ALIPAY, paid_days_ago=0)
    later = datetime.now(UTC) + timedelta(days=181)
    fake = FakePayoutProvider(now=lambda: later)
    with pytest.raises(TransferRejected):
        await fake.submit(request)


async def test_sms_fake_records_inbox_newest_first_and_extracts_code() -> None:
    sms = FakeSmsProvider()
    phone = "+8613800000000"
    await sms.send(phone, "Your code is 123456, valid 10 minutes.", idempotency_key="a")
    await sms.send(phone, "Your code is 654321, valid 10 minutes.", idempotency_key="b")
    await sms.send(phone, "Your code is 654321, valid 10 minutes.", idempotency_key="b")
    await sms.send("+8613900000000", "Your code is 111111.", idempotency_key="c")
    inbox = sms.inbox(phone)
    assert [message.code for message in inbox] == ["654321", "123456"]
    assert sms.last_code(phone) == "654321"
    assert sms.last_code("+8613700000000") is None


async def test_sms_fake_fails_next_sends_and_delivers_nothing() -> None:
    sms = FakeSmsProvider()
    sms.fail_next_sends(1)
    with pytest.raises(SmsError):
        await sms.send("+8613800000000", "code 123456", idempotency_key="a")
    assert sms.inbox("+8613800000000") == []
    await sms.send("+8613800000000", "code 123456", idempotency_key="a")
    assert sms.last_code("+8613800000000") == "123456"


async def test_fake_lists_transfers_for_reconciliation() -> None:
    fake = FakePayoutProvider()
    for key in ("wd-1", "wd-2", "wd-3"):
        await fake.submit(original_request(key))
    listed = await fake.list_transfers(limit=2)
    assert [transfer.idempotency_key for transfer in listed] == ["wd-1", "wd-2"]
