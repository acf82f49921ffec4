"""Returns after success in the ledger (issue 25): a return of the whole amount is credited
once, only on a posted hold, in one transaction (balance, the order's R5/R14 remaining,
entry, status ``returned``, audit, webhook event); another amount is parked until two
different ops reviewers credit it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlmodel import col

from gateways.payout import ReturnReason, Transfer, TransferState
from ledger.db import dispose_engine, get_engine, session_scope
from ledger.holds import post_hold, void_hold
from ledger.returns import HoldNotPosted, approve_credit, record_return
from ledger.tables import (
    Account,
    EntryType,
    LedgerEntry,
    RechargeOrder,
    Reviewer,
    WebhookEvent,
    Withdrawal,
)
from ledger.verify import verify_ledger
from ledger.withdrawals import transactions
from models.domain import Status
from models.errors import HoldConflict
from models.money import Money
from models.returns import ReturnCreditVerdict, ReturnOutcome, ReturnRecorded
from tests.ledger.data import (
    NOW,
    PLAIN_ACCOUNT,
    PLAIN_ORDER,
    fixture_data,
    load,
    open_withdrawal,
    paid_withdrawal,
)

ACCOUNT = PLAIN_ACCOUNT["id"]
ORDER = PLAIN_ORDER


def _load(engine: Engine) -> None:
    data = fixture_data()
    data["reviewers"] += [
        {"id": "ops-1", "name": "Ops One", "role": "ops"},
        {"id": "ops-2", "name": "Ops Two", "role": "lead"},
        {"id": "ops-3", "name": "Ops Three", "role": "ops"},
        {"id": "rev-2", "name": "Reviewer Two", "role": "reviewer"},
        # People, not ids (issue 22): ann under two ids, bo, and an ops reviewer under the
        # real name of the account the money goes back to (acct-plain's id-plain).
        {"id": "ops-ann", "name": "Ann", "role": "ops", "identity_id": "id-ann"},
        {"id": "ops-ann-2", "name": "Ann again", "role": "lead", "identity_id": "id-ann"},
        {"id": "ops-bo", "name": "Bo", "role": "ops", "identity_id": "id-bo"},
        {"id": "ops-owner", "name": "Plain", "role": "ops", "identity_id": "id-plain"},
    ]
    load(engine, data)


@pytest.fixture
def ledger(engine: Engine) -> Engine:
    _load(engine)
    return engine


def _returned(withdrawal_id: str, amount: str, returned: str | None = None) -> Transfer:
    return Transfer(
        idempotency_key=withdrawal_id,
        state=TransferState.RETURNED,
        amount=Money.yuan(amount),
        returned_amount=Money.yuan(returned) if returned else None,
        return_reason=ReturnReason.ACCOUNT_CLOSED,
        returned_at=NOW + timedelta(days=30),
        provider_reference="sim-1",
    )


def _figures(engine: Engine) -> tuple[int, int, int]:
    """(cash, held, the order's withdrawn) in fen."""
    with session_scope(engine) as session:
        account = session.get(Account, ACCOUNT)
        order = session.get(RechargeOrder, ORDER)
        assert account is not None and order is not None
        return account.cash_fen, account.held_fen, order.withdrawn_fen


def _return(engine: Engine, transfer: Transfer) -> ReturnRecorded:
    with session_scope(engine) as session:
        return record_return(session, transfer.idempotency_key, transfer, NOW)


def test_a_return_credits_the_balance_and_the_orders_remaining_back_to_the_fen(
    ledger: Engine,
) -> None:
    before = _figures(ledger)
    withdrawal_id = paid_withdrawal(ledger, "123.45")
    assert _figures(ledger) == (before[0] - 12345, 0, before[2] + 12345)
    recorded = _return(ledger, _returned(withdrawal_id, "123.45"))
    assert recorded.outcome is ReturnOutcome.CREDITED
    assert _figures(ledger) == before  # R5/R14: the user may apply again
    with session_scope(ledger) as session:
        assert verify_ledger(session).ok  # the books recompute with the return in them
    with session_scope(ledger) as session:
        record = session.get(Withdrawal, withdrawal_id)
        assert record is not None and record.status is Status.RETURNED
        assert record.reason is not None and "closed" in record.reason
        lines = transactions(session, ACCOUNT, type=EntryType.WITHDRAWAL.value)
        mine = [
            (e.type, e.direction, e.amount_fen) for e in lines if e.withdrawal_id == withdrawal_id
        ]
        assert mine == [("withdrawal", "debit", 12345), ("withdrawal_return", "credit", 12345)]
        types = session.execute(
            select(col(WebhookEvent.type)).where(col(WebhookEvent.withdrawal_id) == withdrawal_id)
        ).scalars()
        assert "withdrawal.returned" in list(types)


def test_a_duplicate_return_changes_nothing(ledger: Engine) -> None:
    withdrawal_id = paid_withdrawal(ledger, "10.00")
    _return(ledger, _returned(withdrawal_id, "10.00"))
    after_first = _figures(ledger)
    again = _return(ledger, _returned(withdrawal_id, "10.00"))
    assert again.first is False
    assert _figures(ledger) == after_first


def test_a_hold_still_held_waits_and_a_voided_one_is_never_credited(ledger: Engine) -> None:
    with session_scope(ledger) as session:
        held = open_withdrawal(session, "5.00")
        voided = open_withdrawal(session, "6.00")
        void_hold(session, voided, NOW)
    with pytest.raises(HoldNotPosted):
        _return(ledger, _returned(held, "5.00"))
    with pytest.raises(HoldConflict):
        _return(ledger, _returned(voided, "6.00"))


def test_a_return_of_another_amount_is_parked_until_two_ops_credit_it(ledger: Engine) -> None:
    withdrawal_id = paid_withdrawal(ledger, "50.00")
    paid = _figures(ledger)
    recorded = _return(ledger, _returned(withdrawal_id, "50.00", returned="49.00"))
    assert recorded.outcome is ReturnOutcome.PARKED
    assert _figures(ledger) == paid  # never credited by guess

    def approve(reviewer: str, amount: str = "49.00") -> ReturnCreditVerdict:
        return _approve(ledger, withdrawal_id, reviewer, amount)

    assert approve("rev-2").accepted is False  # not ops or lead
    assert approve("ops-1").credited is False
    assert approve("ops-1").credited is False  # the same person again
    assert approve("ops-3", "50.00").credited is False  # another figure
    assert _figures(ledger) == paid
    assert approve("ops-2").credited is True
    assert _figures(ledger) == (paid[0] + 4900, 0, paid[2] - 4900)
    assert approve("ops-2").credited is True  # answered, not credited again
    assert _figures(ledger)[0] == paid[0] + 4900


def _approve(engine: Engine, withdrawal_id: str, reviewer: str, amount: str) -> ReturnCreditVerdict:
    with session_scope(engine) as session:
        return approve_credit(
            session,
            withdrawal_id=withdrawal_id,
            reviewer_id=reviewer,
            amount=Money.yuan(amount),
            evidence="bank statement 2026-12-05",
            now=NOW,
        )


def _set_enabled(engine: Engine, reviewer_id: str, enabled: bool) -> None:
    with session_scope(engine) as session:
        reviewer = session.get(Reviewer, reviewer_id)
        assert reviewer is not None
        reviewer.enabled = enabled
        session.add(reviewer)


def test_a_parked_return_credits_at_most_what_came_back_and_only_by_two_people(
    ledger: Engine,
) -> None:
    """The review's repro (finding 1): the provider returned 10.00 of a 50.00 payout. Two
    ids of one person, or an ops id under the account owner's own real name, credited
    50.00: 40.00 from nothing. Now: more than came back is refused, naming both figures;
    the same person's second id and the owner's real name are refused (R17); a second,
    different person credits the 10.00."""
    withdrawal_id = paid_withdrawal(ledger, "50.00")
    _return(ledger, _returned(withdrawal_id, "50.00", returned="10.00"))
    paid = _figures(ledger)

    over = _approve(ledger, withdrawal_id, "ops-ann", "50.00")
    assert over.accepted is False
    assert "50.00 is more than the 10.00 the provider's record says came back" in over.why
    assert _approve(ledger, withdrawal_id, "ops-ann", "10.00").accepted is True
    same_person = _approve(ledger, withdrawal_id, "ops-ann-2", "10.00")
    assert (same_person.accepted, same_person.credited) == (False, False)
    assert "same person" in same_person.why
    owner = _approve(ledger, withdrawal_id, "ops-owner", "10.00")
    assert owner.accepted is False and "same real name (R17)" in owner.why
    assert _figures(ledger) == paid

    credited = _approve(ledger, withdrawal_id, "ops-bo", "10.00")
    assert credited.credited is True and credited.reviewers == ["ops-ann", "ops-bo"]
    assert _figures(ledger) == (paid[0] + 1000, 0, paid[2] - 1000)


def test_an_approval_by_a_reviewer_disabled_since_does_not_count(ledger: Engine) -> None:
    """Issue 26: a disabled reviewer's word no longer counts, including an approval given
    before they were disabled; and a disabled reviewer approves nothing."""
    withdrawal_id = paid_withdrawal(ledger, "20.00")
    _return(ledger, _returned(withdrawal_id, "20.00", returned="15.00"))
    paid = _figures(ledger)
    try:
        assert _approve(ledger, withdrawal_id, "ops-ann", "15.00").credited is False
        _set_enabled(ledger, "ops-ann", False)
        refused = _approve(ledger, withdrawal_id, "ops-ann", "15.00")
        assert refused.accepted is False and "disabled" in refused.why
        alone = _approve(ledger, withdrawal_id, "ops-bo", "15.00")
        assert (alone.accepted, alone.credited, alone.reviewers) == (True, False, ["ops-bo"])
        assert _figures(ledger) == paid
        credited = _approve(ledger, withdrawal_id, "ops-2", "15.00")
        assert credited.credited is True and credited.reviewers == ["ops-bo", "ops-2"]
    finally:
        _set_enabled(ledger, "ops-ann", True)


# ---- the invariant, over random sequences ---------------------------------------------


@pytest.fixture(scope="module")
def sqlite_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('returns') / 'ledger.db'}"
    engine = get_engine(url)
    _load(engine)
    yield engine
    dispose_engine(url)


STEPS = st.lists(
    st.sampled_from(["post", "void", "return", "return_short"]), min_size=1, max_size=6
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_a_return_credits_only_a_posted_hold_once(sqlite_ledger: Engine, steps: list[str]) -> None:
    """Whatever order the payout's end and any number of returns (duplicates, another
    amount) arrive in, a withdrawal is credited at most once, only after its hold was
    posted, and the balance is the opening less what was paid plus what came back."""
    engine = sqlite_ledger
    cash_before = _figures(engine)[0]
    with session_scope(engine) as session:
        withdrawal_id = open_withdrawal(session, "1.00")
    for step in steps:
        with session_scope(engine) as session:
            try:
                if step == "post":
                    post_hold(session, withdrawal_id, NOW)
                elif step == "void":
                    void_hold(session, withdrawal_id, NOW)
                else:
                    short = "0.50" if step == "return_short" else None
                    record_return(
                        session, withdrawal_id, _returned(withdrawal_id, "1.00", short), NOW
                    )
            except (HoldConflict, HoldNotPosted):
                pass  # refused: nothing of that step was written
        with session_scope(engine) as session:
            entries = session.execute(
                select(col(LedgerEntry.type)).where(col(LedgerEntry.withdrawal_id) == withdrawal_id)
            ).scalars()
            kinds = list(entries)
            credits = kinds.count(EntryType.WITHDRAWAL_RETURN.value)
            debits = kinds.count(EntryType.WITHDRAWAL.value)
            assert credits <= 1 and debits <= 1
            assert credits <= debits  # credited only a posted hold
            cash = session.get(Account, ACCOUNT)
            assert cash is not None
            assert cash.cash_fen == cash_before - 100 * debits + 100 * credits
            assert verify_ledger(session).ok


# Who may try: one person under two ids, a second and third person, the account owner's
# own real name under an ops id, and a role that may not credit at all.
PEOPLE = {
    "ops-ann": "id-ann",
    "ops-ann-2": "id-ann",
    "ops-bo": "id-bo",
    "ops-1": None,
    "ops-owner": "id-plain",
    "rev-2": None,
}
RETURNED_FEN = 40  # of a 1.00 payout
# Mostly approvals of the returned amount (where a missing person check would show),
# sometimes of more (where a missing cap would), now and then a reviewer disabled.
APPROVE = st.tuples(
    st.just("approve"),
    st.sampled_from(sorted(PEOPLE)),
    st.sampled_from(["0.40", "0.40", "0.40", "0.20", "1.00", "9.00"]),
)
DISABLE = st.tuples(st.just("disable"), st.sampled_from(["ops-ann", "ops-bo"]), st.just(""))
CREDIT_STEPS = st.lists(st.one_of(APPROVE, APPROVE, APPROVE, DISABLE), min_size=1, max_size=8)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=CREDIT_STEPS)
def test_a_parked_return_credits_at_most_the_returned_amount_once_only_with_two_people(
    sqlite_ledger: Engine, steps: list[tuple[str, str, str]]
) -> None:
    """Finding 1's invariant: whatever ops try (any reviewer, any amount, reviewers
    disabled between approvals), a parked return credits at most the amount the
    provider's record says came back, at most once, and only on the approvals of two
    different people, both enabled, neither under the account owner's real name."""
    engine = sqlite_ledger
    for reviewer_id in PEOPLE:
        _set_enabled(engine, reviewer_id, True)
    withdrawal_id = paid_withdrawal(engine, "1.00")
    _return(engine, _returned(withdrawal_id, "1.00", returned="0.40"))
    cash_before = _figures(engine)[0]
    disabled: set[str] = set()
    for action, reviewer_id, amount in steps:
        if action == "disable":
            _set_enabled(engine, reviewer_id, False)
            disabled.add(reviewer_id)
            continue
        verdict = _approve(engine, withdrawal_id, reviewer_id, amount)
        if verdict.credited and verdict.reviewers:
            people = {PEOPLE[r] or r for r in verdict.reviewers}
            assert len(verdict.reviewers) == 2 and len(people) == 2, verdict
            assert "id-plain" not in people and not disabled & set(verdict.reviewers)
            assert all(r.startswith("ops-") for r in verdict.reviewers)
        with session_scope(engine) as session:
            credits = session.execute(
                select(col(LedgerEntry.amount_fen)).where(
                    col(LedgerEntry.withdrawal_id) == withdrawal_id,
                    col(LedgerEntry.type) == EntryType.WITHDRAWAL_RETURN.value,
                )
            ).scalars()
            credited = list(credits)
            assert len(credited) <= 1 and sum(credited) <= RETURNED_FEN
            account = session.get(Account, ACCOUNT)
            assert account is not None and account.cash_fen == cash_before + sum(credited)
            assert verify_ledger(session).ok
