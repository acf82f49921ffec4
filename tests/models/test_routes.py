"""R8: the original route's time limit per channel and bank, at and one day past its limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from models.domain import Channel
from models.errors import InputError
from models.routes import (
    KNOWN_BANKS,
    bank_name,
    bank_name_zh,
    original_route_deadline,
    original_route_limit_days,
    original_route_open,
)

PERSONAL = Channel.ONLINE_BANKING_PERSONAL
ENTERPRISE = Channel.ONLINE_BANKING_ENTERPRISE
ONLINE_BANKING = (PERSONAL, ENTERPRISE)
OTHER_CHANNELS = (Channel.ALIPAY, Channel.BANK_CARD)

# Written out from DOMAIN R8 on purpose, not read from the data file, so the test checks
# the data against the rule.
R8_SHORT_LIMITS: dict[tuple[Channel, str], int] = {
    (ENTERPRISE, "JSB"): 30,
    (ENTERPRISE, "NJCB"): 30,
    **{(PERSONAL, bank): 30 for bank in ("BOC", "CIB", "ICBC", "SPDB", "NJCB", "HZCB")},
    (PERSONAL, "GRCB"): 30,
    (PERSONAL, "JSB"): 30,
    (PERSONAL, "CMB"): 90,
    (ENTERPRISE, "CMB"): 90,
}
DEFAULT_DAYS = 180
SEED_BANKS = {"ICBC", "BOC", "CMB", "CIB", "SPDB", "NJCB", "HZCB", "GRCB", "JSB"}
COMMON_BANKS = {"ABC", "CCB", "BOCOM", "PSBC", "CITIC", "CEB", "CMBC", "PAB", "HXB"}

PAID_AT = datetime(2026, 1, 15, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def expected_days(channel: Channel, bank: str) -> int:
    return R8_SHORT_LIMITS.get((channel, bank), DEFAULT_DAYS)


EVERY_ONLINE_BANKING_CASE = [
    pytest.param(channel, bank, expected_days(channel, bank), id=f"{channel}-{bank}")
    for channel in ONLINE_BANKING
    for bank in sorted(KNOWN_BANKS)
]


def test_r8_directory_knows_the_seed_and_common_banks() -> None:
    assert SEED_BANKS | COMMON_BANKS <= KNOWN_BANKS


@pytest.mark.parametrize(("channel", "bank", "days"), EVERY_ONLINE_BANKING_CASE)
def test_r8_online_banking_limit_follows_the_bank_table(
    channel: Channel, bank: str, days: int
) -> None:
    assert original_route_limit_days(channel, bank) == days


@pytest.mark.parametrize(("channel", "bank", "days"), EVERY_ONLINE_BANKING_CASE)
def test_r8_original_route_is_open_at_its_limit_and_closed_a_day_past(
    channel: Channel, bank: str, days: int
) -> None:
    at_limit = PAID_AT + timedelta(days=days)
    assert original_route_deadline(channel, bank, PAID_AT) == at_limit
    assert original_route_open(channel, bank, PAID_AT, at_limit)
    assert not original_route_open(channel, bank, PAID_AT, at_limit + timedelta(days=1))


@pytest.mark.parametrize("channel", OTHER_CHANNELS)
@pytest.mark.parametrize("bank", [None, "ICBC", "JSB", "CMB"])
def test_r8_alipay_and_bank_card_use_the_180_day_default(
    channel: Channel, bank: str | None
) -> None:
    assert original_route_limit_days(channel, bank) == DEFAULT_DAYS
    at_limit = PAID_AT + timedelta(days=DEFAULT_DAYS)
    assert original_route_open(channel, bank, PAID_AT, at_limit)
    assert not original_route_open(channel, bank, PAID_AT, at_limit + timedelta(days=1))


@pytest.mark.parametrize("channel", ONLINE_BANKING)
def test_r8_cmb_online_banking_has_90_days(channel: Channel) -> None:
    assert original_route_limit_days(channel, "CMB") == 90
    assert original_route_open(channel, "CMB", PAID_AT, PAID_AT + timedelta(days=90))
    assert not original_route_open(channel, "CMB", PAID_AT, PAID_AT + timedelta(days=91))


def test_r8_original_route_closes_one_microsecond_after_the_deadline() -> None:
    deadline = original_route_deadline(PERSONAL, "ICBC", PAID_AT)
    assert not original_route_open(PERSONAL, "ICBC", PAID_AT, deadline + timedelta(microseconds=1))


def test_r8_open_compares_instants_across_timezones() -> None:
    deadline_utc = original_route_deadline(PERSONAL, "ICBC", PAID_AT).astimezone(UTC)
    assert original_route_open(PERSONAL, "ICBC", PAID_AT, deadline_utc)


@pytest.mark.parametrize("channel", list(Channel))
def test_r8_unknown_bank_code_is_an_input_error(channel: Channel) -> None:
    with pytest.raises(InputError, match=r"^bank: unknown bank code 'XYZB'") as error:
        original_route_limit_days(channel, "XYZB")
    assert error.value.field == "bank"


@pytest.mark.parametrize("channel", ONLINE_BANKING)
def test_r8_online_banking_without_a_bank_is_an_input_error(channel: Channel) -> None:
    with pytest.raises(InputError, match=r"^bank: "):
        original_route_limit_days(channel, None)


def test_r8_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 1, 15, 10, 0)
    with pytest.raises(InputError, match=r"^paid_at: "):
        original_route_deadline(Channel.ALIPAY, None, naive)
    with pytest.raises(InputError, match=r"^now: "):
        original_route_open(Channel.ALIPAY, None, PAID_AT, naive)


def test_bank_names_in_english_and_chinese() -> None:
    assert bank_name("JSB") == "Bank of Jiangsu"
    assert bank_name("NJCB") == "Bank of Nanjing"
    assert bank_name_zh("ICBC") == "中国工商银行"
    assert all(bank_name(code) and bank_name_zh(code) for code in KNOWN_BANKS)
    with pytest.raises(InputError, match=r"^bank: "):
        bank_name("nope")
