"""R14: concurrent withdrawals together never freeze more than is withdrawable, and every
hold resolves exactly once, on SQLite and PostgreSQL, from threads and from processes."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from sqlalchemy import Engine, func
from sqlmodel import select

from ledger.db import run_in_transaction, session_scope
from ledger.holds import post_hold, reserve, void_hold
from ledger.tables import Account, EntryType, Hold, HoldState, LedgerEntry, RechargeOrder
from models.errors import HoldConflict, InsufficientWithdrawable
from models.money import Money
from tests.ledger.data import NOW, load
from tests.ledger.workers import reserve_many

THREADS = 24
PROCESSES = 3
RESERVATIONS_PER_PROCESS = 6
AMOUNT = "70.00"  # acct-plain has 1000.00 withdrawable: at most 14 holds fit (980.00)


def _try_reserve(engine: Engine, withdrawal_id: str, order_id: str | None) -> str | None:
    try:
        run_in_transaction(
            engine,
            reserve,
            withdrawal_id=withdrawal_id,
            account_id="acct-plain",
            order_id=order_id,
            amount=Money.yuan(AMOUNT),
            now=NOW,
        )
    except InsufficientWithdrawable:
        return None
    return withdrawal_id


def _resolve(engine: Engine, withdrawal_id: str, post: bool) -> str:
    fn = post_hold if post else void_hold
    hold = run_in_transaction(engine, fn, withdrawal_id, NOW)
    return hold.state


def _assert_holds_match_totals(engine: Engine) -> tuple[int, int]:
    """Running totals equal the sum of active holds; return (held, holds) in fen/count."""
    with session_scope(engine) as session:
        account = session.get(Account, "acct-plain")
        order = session.get(RechargeOrder, "P-ORDER")
        assert account is not None and order is not None
        active = session.exec(select(Hold).where(Hold.state == HoldState.HELD.value)).all()
        assert account.held_fen == sum(h.amount_fen for h in active)
        assert order.held_fen == sum(h.amount_fen for h in active if h.order_id == "P-ORDER")
        assert order.withdrawn_fen + order.held_fen <= order.amount_fen
        assert account.held_fen <= 100000  # never more than withdrawable (R14)
        return account.held_fen, len(active)


def _reserve_from_threads(engine: Engine) -> list[str]:
    # Half draw on the 600.00 order (at most 8 × 70.00), half on no order.
    jobs = [(f"t-{i}", "P-ORDER" if i % 2 else None) for i in range(THREADS)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda job: _try_reserve(engine, *job), jobs))
    return [r for r in results if r is not None]


def _resolve_all_twice(engine: Engine, held: list[str]) -> dict[str, bool]:
    """Post even, void odd holds; every resolution is sent twice, all at once, shuffled."""
    plan = {wid: i % 2 == 0 for i, wid in enumerate(sorted(held))}
    jobs = [(wid, post) for wid, post in plan.items()] * 2
    random.Random(7).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=16) as pool:
        states = list(pool.map(lambda job: _resolve(engine, *job), jobs))
    expected = Counter(
        HoldState.POSTED.value if post else HoldState.VOIDED.value for _, post in jobs
    )
    assert Counter(states) == expected
    return plan


def _assert_resolved_exactly_once(engine: Engine, plan: dict[str, bool]) -> None:
    posted = [wid for wid, post in plan.items() if post]
    with session_scope(engine) as session:
        account = session.get(Account, "acct-plain")
        order = session.get(RechargeOrder, "P-ORDER")
        assert account is not None and order is not None
        holds = {h.withdrawal_id: h for h in session.exec(select(Hold)).all()}
        # Withdrawal debits only: each account also has its opening entry (issue 13).
        withdrawal = LedgerEntry.type == EntryType.WITHDRAWAL.value
        entries = session.exec(select(LedgerEntry).where(withdrawal)).all()
        entry_count = session.exec(
            select(func.count()).select_from(LedgerEntry).where(withdrawal)
        ).one()
    assert entry_count == len(posted)  # one debit per posted hold, none for voided
    assert sorted(e.withdrawal_id or "" for e in entries) == sorted(posted)
    posted_fen = sum(holds[w].amount_fen for w in posted)
    posted_on_order = sum(holds[w].amount_fen for w in posted if holds[w].order_id == "P-ORDER")
    assert account.cash_fen == 100000 - posted_fen
    assert account.held_fen == 0 and order.held_fen == 0
    assert order.withdrawn_fen == posted_on_order
    # The ledger's balances chain: each entry's balance is the previous minus its amount.
    balances = sorted((e.balance_after_fen for e in entries), reverse=True)
    assert balances[-1] == account.cash_fen
    for wid, post in plan.items():
        assert holds[wid].state == (HoldState.POSTED.value if post else HoldState.VOIDED.value)


def test_concurrent_reserves_from_threads_never_exceed_withdrawable(engine: Engine) -> None:
    load(engine)
    held = _reserve_from_threads(engine)
    held_fen, count = _assert_holds_match_totals(engine)
    # Serialised greedily: the account runs out at 14 × 70.00; the order allows 8.
    assert (count, held_fen) == (14, 98000)
    assert len(held) == 14
    plan = _resolve_all_twice(engine, held)
    _assert_resolved_exactly_once(engine, plan)
    # Resolved the other way now: refused, nothing moves.
    first_posted = next(w for w, post in plan.items() if post)
    first_voided = next(w for w, post in plan.items() if not post)
    for fn, wid in ((void_hold, first_posted), (post_hold, first_voided)):
        try:
            run_in_transaction(engine, fn, wid, NOW)
        except HoldConflict:
            continue
        raise AssertionError(f"{fn.__name__}({wid}) should have been refused")
    _assert_resolved_exactly_once(engine, plan)


def test_concurrent_reserves_from_processes_never_exceed_withdrawable(
    engine: Engine, db_url: str
) -> None:
    load(engine)
    batches = [[f"p{p}-{i}" for i in range(RESERVATIONS_PER_PROCESS)] for p in range(PROCESSES)]
    context = multiprocessing.get_context("spawn")  # no forked engine or lock state
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(
            partial(reserve_many, db_url),
            [(batch, "P-ORDER" if p % 2 else None, AMOUNT) for p, batch in enumerate(batches)],
        )
    held = [wid for batch in results for wid in batch]
    held_fen, count = _assert_holds_match_totals(engine)
    assert (count, held_fen) == (len(held), len(held) * 7000)
    assert len(held) == 14  # 18 attempts, room for 14; the order's share fits in 8
    plan = _resolve_all_twice(engine, held)
    _assert_resolved_exactly_once(engine, plan)
