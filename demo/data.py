"""The demo accounts ``make run`` loads, and the ids its banner suggests trying.

The launcher loads only the rows the database does not have yet, through the same
``load_fixture`` as ``starter.py load``. Re-loading on every start would put each demo
balance back to the file's figure under withdrawals already paid, so the ledger and the
balance would disagree; ``starter.py load fixtures/demo.json`` still resets on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from ledger.loading import LoadSummary, load_fixture
from ledger.tables import Account, RechargeOrder, Reviewer
from models.domain import AccountStatus
from models.fixtures import Fixture, FixtureRechargeOrder, parse_fixture
from models.money import Money

SUGGESTED_AMOUNT = Money.yuan("100.00")  # small enough for R12 in every demo account


@dataclass(frozen=True)
class DemoHints:
    """Ids from the fixture for the banner's example commands (ids only, no names).

    ``account_id`` is the first account, for ``withdrawable``; the withdrawal example
    uses an account that needs no review (R16), so it runs through by itself.
    """

    account_id: str
    withdraw_account_id: str
    order_id: str
    amount: Money
    reviewer_id: str | None


def read_fixture(path: Path) -> Fixture:
    return parse_fixture(path.read_bytes())


def load_missing_demo_data(session: Session, path: Path) -> LoadSummary:
    """Load the accounts, orders and reviewers of ``path`` that the database lacks."""
    fixture = read_fixture(path)
    missing = Fixture(
        accounts=[a for a in fixture.accounts if session.get(Account, a.id) is None],
        recharge_orders=[
            o for o in fixture.recharge_orders if session.get(RechargeOrder, o.id) is None
        ],
        # Only new reviewers: a password reset or a disable (``reviewers``) stays as ops
        # left it, and ``load`` would not change either anyway.
        reviewers=[r for r in fixture.reviewers if session.get(Reviewer, r.id) is None],
    )
    return load_fixture(session, missing)


def demo_reviewers(path: Path) -> list[tuple[str, str, str]]:
    """``(id, role, password)`` of the demo reviewers, for ``make run``'s banner."""
    return [(r.id, r.role, r.password) for r in read_fixture(path).reviewers if r.password]


def demo_hints(path: Path) -> DemoHints | None:
    fixture = read_fixture(path)
    if not fixture.accounts:
        return None
    order = _automatic_order(fixture)
    if order is None:
        return None
    return DemoHints(
        account_id=fixture.accounts[0].id,
        withdraw_account_id=order.account_id,
        order_id=order.id,
        amount=min(order.amount, SUGGESTED_AMOUNT),
        reviewer_id=fixture.reviewers[0].id if fixture.reviewers else None,
    )


def _automatic_order(fixture: Fixture) -> FixtureRechargeOrder | None:
    """The newest order (the likeliest inside its R8 limit) of an account that may
    withdraw (R1) without review: nobody under its real name is overdue (R17)."""
    overdue_identities = {a.identity_id for a in fixture.accounts if a.overdue.fen > 0}
    automatic = {
        a.id
        for a in fixture.accounts
        if a.real_name_verified
        and a.status is AccountStatus.NORMAL
        and a.identity_id not in overdue_identities
    }
    orders = [o for o in fixture.recharge_orders if o.account_id in automatic]
    return max(orders, key=lambda o: o.paid_at, default=None)
