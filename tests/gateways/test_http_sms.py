"""The HTTP SMS client against the SMS simulator (R15 codes reach the inbox)."""

from __future__ import annotations

import pytest

from gateways.http_sms import DEFAULT_SMS_GATEWAY_URL, HttpSmsProvider, sms_provider_from_env
from gateways.sms import SmsError, SmsRejected
from gateways.sms_messages import extract_code
from standins.simulators.runner import RunningServer
from tests.gateways.conftest import new_key


def new_phone() -> str:
    return "+86138" + new_key("")[-8:].replace("-", "0").rjust(8, "0")


async def test_inbox_is_newest_first_with_codes(sms: HttpSmsProvider) -> None:
    phone = new_phone()
    await sms.send(phone, "验证码 123456,10分钟内有效。", idempotency_key=new_key())
    await sms.send(phone, "Your withdrawal was approved.", idempotency_key=new_key())
    await sms.send(phone, "Your code is 987654.", idempotency_key=new_key())
    inbox = await sms.inbox(phone)
    assert [message.code for message in inbox] == ["987654", None, "123456"]
    assert inbox[0].at >= inbox[1].at >= inbox[2].at
    assert await sms.inbox(new_phone()) == []


async def test_same_key_delivers_once(sms: HttpSmsProvider) -> None:
    phone, key = new_phone(), new_key()
    for _ in range(3):
        await sms.send(phone, "Your code is 246810.", idempotency_key=key)
    assert len(await sms.inbox(phone)) == 1


async def test_injected_errors_raise_sms_error_and_deliver_nothing(
    sms: HttpSmsProvider, sms_sim: RunningServer
) -> None:
    sms_sim.set_faults(error_rate=1.0)
    phone = new_phone()
    with pytest.raises(SmsError) as failed:
        await sms.send(phone, "Your code is 135790.", idempotency_key=new_key())
    assert not isinstance(failed.value, SmsRejected)
    sms_sim.set_faults()
    assert await sms.inbox(phone) == []
    assert sms_sim.fault_stats()["error"] >= 1


async def test_empty_text_is_rejected_for_good(sms: HttpSmsProvider) -> None:
    with pytest.raises(SmsRejected):
        await sms.send(new_phone(), " ", idempotency_key=new_key())


async def test_unreachable_gateway_is_sms_error() -> None:
    with pytest.raises(SmsError):
        await HttpSmsProvider("http://127.0.0.1:9").send("+8613800000000", "x", idempotency_key="k")


def test_provider_from_env_defaults_to_the_local_simulator() -> None:
    assert sms_provider_from_env({}).base_url == DEFAULT_SMS_GATEWAY_URL
    assert sms_provider_from_env({"SMS_GATEWAY_URL": "http://sms:1"}).base_url == "http://sms:1"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Your code is 123456.", "123456"),
        ("验证码:654321", "654321"),
        ("call 13800000000 for help", None),  # a phone number is not a code
        ("amount 1234.56, code 000123", "000123"),
        ("no code here", None),
    ],
)
def test_extract_code(text: str, code: str | None) -> None:
    assert extract_code(text) == code
