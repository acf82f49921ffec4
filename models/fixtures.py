"""The ``load`` fixture format of docs/interface.md, validated strictly before anything is written.

Amounts are strings with at most two decimals (``models.money.Money``): a float, a bare
integer or a negative amount is refused, because a fixture that loads "close enough"
balances would make every R12 figure after it wrong. Unknown fields are refused too, so
a typo (``"transfer-in"``) cannot silently load as zero.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from models.domain import AccountStatus, AccountType, Channel
from models.errors import InputError
from models.money import Money

MAX_FIXTURE_ITEMS = 10_000  # per list: a bigger file is a mistake, not a fixture
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{6,20}$")]
BankCode = Annotated[str, StringConstraints(min_length=1, max_length=16)]

_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)


class FixturePaygResource(BaseModel):
    """A pay-as-you-go resource; ``released_at`` null means it is still running (R11)."""

    model_config = _STRICT

    id: Identifier
    released_at: AwareDatetime | None = None


class FixtureAccount(BaseModel):
    model_config = _STRICT

    id: Identifier
    owner_name: Name
    type: AccountType
    real_name_verified: StrictBool
    status: AccountStatus
    identity_id: Identifier
    security_phone: Phone
    master_account_id: Identifier | None = None
    cash: Money
    transfer_in: Money = Money.zero()
    owed_invoice: Money = Money.zero()
    overdue: Money = Money.zero()
    unsettled: Money = Money.zero()
    payg_resources: list[FixturePaygResource] = Field(
        default_factory=list, max_length=MAX_FIXTURE_ITEMS
    )

    @model_validator(mode="after")
    def _not_own_master(self) -> FixtureAccount:
        if self.master_account_id == self.id:
            raise ValueError("master_account_id: an account cannot be its own master (R2)")
        return self


class FixtureRechargeOrder(BaseModel):
    model_config = _STRICT

    id: Identifier
    account_id: Identifier
    amount: Money
    channel: Channel
    bank: BankCode | None = None
    paid_at: AwareDatetime

    @model_validator(mode="after")
    def _bank_fits_channel(self) -> FixtureRechargeOrder:
        # Imported here: the route table is loaded (and checked) on first import.
        from models.routes import KNOWN_BANKS, original_route_limit_days

        if self.amount.fen == 0:
            raise ValueError("amount: a recharge order must be more than 0.00")
        if self.bank is not None and self.bank not in KNOWN_BANKS:
            known = ", ".join(sorted(KNOWN_BANKS))
            raise ValueError(f"bank: unknown bank code {self.bank!r} (known: {known})")
        if self.channel is Channel.ALIPAY and self.bank is not None:
            raise ValueError("bank: an alipay recharge has no bank")
        try:
            original_route_limit_days(self.channel, self.bank)  # R8 needs the bank for some
        except InputError as error:
            raise ValueError(str(error)) from None
        return self


class FixtureReviewer(BaseModel):
    model_config = _STRICT

    id: Identifier
    name: Name
    role: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "reviewer"


def _duplicates(ids: list[str]) -> list[str]:
    return sorted(i for i, count in Counter(ids).items() if count > 1)


class Fixture(BaseModel):
    """A whole ``load`` file. Every list is optional; ids must be unique within the file."""

    model_config = _STRICT

    accounts: list[FixtureAccount] = Field(default_factory=list, max_length=MAX_FIXTURE_ITEMS)
    recharge_orders: list[FixtureRechargeOrder] = Field(
        default_factory=list, max_length=MAX_FIXTURE_ITEMS
    )
    reviewers: list[FixtureReviewer] = Field(default_factory=list, max_length=MAX_FIXTURE_ITEMS)

    @model_validator(mode="after")
    def _unique_ids(self) -> Fixture:
        groups = {
            "accounts": [a.id for a in self.accounts],
            "recharge_orders": [o.id for o in self.recharge_orders],
            "reviewers": [r.id for r in self.reviewers],
            "payg_resources": [p.id for a in self.accounts for p in a.payg_resources],
        }
        for name, ids in groups.items():
            repeated = _duplicates(ids)
            if repeated:
                raise ValueError(f"{name}: duplicate id {', '.join(repeated)}")
        return self


def parse_fixture(data: str | bytes | dict[str, Any]) -> Fixture:
    """Validate a fixture from JSON text (or a dict, checked exactly as its JSON would be).

    Raises ``pydantic.ValidationError``; malformed JSON is one of its errors.
    """
    text = json.dumps(data) if isinstance(data, dict) else data
    return Fixture.model_validate_json(text)
