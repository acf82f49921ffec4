"""What a fault run withdraws: one fresh account per withdrawal, generated from a seed.

One account each keeps the SMS inboxes apart (a code is read by phone, as a user would)
and makes every expected balance a one-line sum. Big balances keep R12/R14 out of the
way: these runs test delivery under faults, not the withdrawable formula.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from models.domain import Kind, Route, Status, WithdrawalRequest
from models.money import Money

CASH = Money.yuan("1000000.00")
ORDER_AMOUNT = Money.yuan("500000.00")
REVIEWER_ID = "rev-faults"
RECHARGED_DAYS_AGO = 3  # well inside every R8 original-route limit
# Each plan of a test session gets its own block of phone numbers: runs in one module
# share an SMS simulator, and a code is read by phone.
_phone_blocks = itertools.count(1)


class Path(StrEnum):
    AUTO = "auto"  # R16: original route, no risk, no review
    APPROVED = "approved"  # R17 risk (overdue debt under the real name), approved
    REJECTED = "rejected"  # R17 risk, rejected: the hold is voided (R19)
    BOUNCED = "bounced"  # accepted by the provider, then failed (closed original payer)


# The status each path ends in when the provider behaves; ``fail_after_accept`` faults
# may also turn a paid path into ``failed``.
EXPECTED_STATUS = {
    Path.AUTO: Status.SUCCEEDED,
    Path.APPROVED: Status.SUCCEEDED,
    Path.REJECTED: Status.REJECTED,
    Path.BOUNCED: Status.FAILED,
}


@dataclass(frozen=True)
class Planned:
    withdrawal_id: str
    account_id: str
    order_id: str
    phone: str
    amount: Money
    path: Path
    bank_card: bool  # original route via bank card: settles later than Alipay (R7)

    @property
    def reviewed(self) -> bool:
        return self.path in (Path.APPROVED, Path.REJECTED)

    def request(self) -> WithdrawalRequest:
        return WithdrawalRequest(
            withdrawal_id=self.withdrawal_id,
            account_id=self.account_id,
            amount=self.amount,
            kind=Kind.RECHARGE,
            route=Route.ORIGINAL,
            order_id=self.order_id,
        )


def _path(rng: random.Random, mix: bool) -> Path:
    if not mix:
        return Path.AUTO
    roll = rng.random()
    if roll < 0.12:
        return Path.APPROVED
    if roll < 0.18:
        return Path.REJECTED
    if roll < 0.24:
        return Path.BOUNCED
    return Path.AUTO  # mostly the automatic path


def make_plan(
    run: str, count: int, rng: random.Random, *, mix: bool = True, bank_card_share: float = 0.2
) -> list[Planned]:
    """``count`` withdrawals for the run named ``run`` (ids and phones unique per run)."""
    block = next(_phone_blocks) % 1000
    plans = []
    for i in range(count):
        path = _path(rng, mix)
        # The simulator fails an original-route order whose id says CLOSED (magic_payees).
        order_suffix = "-CLOSED" if path is Path.BOUNCED else ""
        plans.append(
            Planned(
                withdrawal_id=f"{run}-w{i:04d}",
                account_id=f"{run}-a{i:04d}",
                order_id=f"{run}-r{i:04d}{order_suffix}",
                phone=f"+86177{block:03d}{i:05d}",
                amount=Money(rng.randint(1_00, 5_000_00)),  # 1.00 to 5000.00, any fen
                path=path,
                bank_card=rng.random() < bank_card_share,
            )
        )
    return plans


def fixture_for(plans: list[Planned], now: datetime | None = None) -> dict[str, Any]:
    """The docs/interface.md fixture document for ``plans`` (loaded with ``load_fixture``)."""
    paid_at = ((now or datetime.now(UTC)) - timedelta(days=RECHARGED_DAYS_AGO)).isoformat()
    accounts, orders = [], []
    for plan in plans:
        accounts.append(
            {
                "id": plan.account_id,
                "owner_name": f"Owner of {plan.account_id}",
                "type": "personal",
                "real_name_verified": True,
                "status": "normal",
                "identity_id": f"id-{plan.account_id}",
                "security_phone": plan.phone,
                "cash": str(CASH),
                # R17: an overdue debt under the real name sends the withdrawal to review.
                "overdue": "1.00" if plan.reviewed else "0.00",
            }
        )
        orders.append(
            {
                "id": plan.order_id,
                "account_id": plan.account_id,
                "amount": str(ORDER_AMOUNT),
                "channel": "bank_card" if plan.bank_card else "alipay",
                "bank": "CCB" if plan.bank_card else None,
                "paid_at": paid_at,
            }
        )
    return {
        "accounts": accounts,
        "recharge_orders": orders,
        "reviewers": [{"id": REVIEWER_ID, "name": "Fault Run Reviewer"}],
    }
