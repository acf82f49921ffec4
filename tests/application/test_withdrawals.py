"""application/withdrawals.py, one use case at a time (issue 23): create, status, list,
code, resend, cancel, called as the API and the CLI call them."""

from __future__ import annotations

import pytest

from application import withdrawals
from application.problems import RequestConflict
from application.withdrawals import SOURCE_DATABASE, SOURCE_WORKFLOW
from models.domain import Status
from models.errors import InputError, NotFound, RuleRefusal
from models.limits import CODE_RESEND_COOLDOWN_SECONDS, MAX_CODE_ATTEMPTS
from models.messages import CodeVerdict
from tests.support.withdrawals import workflow_handle
from tests.workflows.harness import Stack, fen, make_request, now


async def _created(stack: Stack, **fields: object) -> str:
    request = make_request(**fields)  # type: ignore[arg-type]
    created = await withdrawals.create(stack.engine, stack.client, request, now())
    stack.started.append(request.withdrawal_id)
    assert created.created and created.answered
    return request.withdrawal_id


# ---- create -----------------------------------------------------------------------------
async def test_create_freezes_the_money_and_answers_the_first_step(stack: Stack) -> None:
    request = make_request(amount="120.00")
    created = await withdrawals.create(stack.engine, stack.client, request, now())
    stack.started.append(request.withdrawal_id)

    assert created.created and created.answered
    assert created.document.status is Status.AWAITING_CODE  # R15: a code comes next
    hold = stack.hold(request.withdrawal_id)
    assert hold is not None and hold.amount_fen == fen("120.00")


async def test_create_again_with_the_same_request_attaches_to_the_first(stack: Stack) -> None:
    request = make_request(amount="80.00")
    await withdrawals.create(stack.engine, stack.client, request, now())
    stack.started.append(request.withdrawal_id)

    again = await withdrawals.create(stack.engine, stack.client, request, now())

    assert not again.created  # an idempotent retry: nothing frozen twice
    assert stack.account("acct-auto").held_fen == fen("80.00")


async def test_create_under_a_used_id_with_another_amount_is_a_conflict(stack: Stack) -> None:
    wid = await _created(stack, amount="50.00")
    with pytest.raises(RequestConflict) as conflict:
        await withdrawals.create(
            stack.engine, stack.client, make_request(withdrawal_id=wid, amount="60.00"), now()
        )
    assert conflict.value.field == "amount"


async def test_create_beyond_the_withdrawable_is_refused_before_anything_is_frozen(
    stack: Stack,
) -> None:
    request = make_request(amount="5000.00")  # acct-auto has 1000.00 (R12)
    with pytest.raises(RuleRefusal):
        await withdrawals.create(stack.engine, stack.client, request, now())
    assert stack.hold(request.withdrawal_id) is None
    assert stack.account("acct-auto").held_fen == 0


# ---- status -----------------------------------------------------------------------------
async def test_status_comes_from_the_running_workflow(stack: Stack) -> None:
    wid = await _created(stack)
    doc, source = await withdrawals.find_status(stack.engine, stack.client, wid)
    assert (doc.status, source) == (Status.AWAITING_CODE, SOURCE_WORKFLOW)


async def test_status_of_a_terminated_run_comes_from_the_database_record(stack: Stack) -> None:
    wid = await _created(stack)
    await workflow_handle(stack.env.client, wid).terminate("test: the run is gone")
    doc, source = await withdrawals.find_status(stack.engine, stack.client, wid)
    assert (doc.status, source) == (Status.AWAITING_CODE, SOURCE_DATABASE)


async def test_status_of_an_unknown_withdrawal_is_not_found(stack: Stack) -> None:
    with pytest.raises(NotFound):
        await withdrawals.find_status(stack.engine, stack.client, "w-never-requested")


# ---- list (R20) --------------------------------------------------------------------------
async def test_list_is_newest_first_and_pages_with_its_cursor(stack: Stack) -> None:
    first = await _created(stack, amount="10.00")
    second = await _created(stack, amount="20.00")

    page = withdrawals.list_page(stack.engine, "acct-auto", limit=1)
    assert [row.id for row in page.rows] == [second]
    assert page.next_cursor is not None
    rest = withdrawals.list_page(stack.engine, "acct-auto", limit=1, cursor=page.next_cursor)
    assert [row.id for row in rest.rows] == [first] and rest.next_cursor is None


def test_list_refuses_a_cursor_it_did_not_give_out(stack: Stack) -> None:
    with pytest.raises(InputError) as refused:
        withdrawals.list_page(stack.engine, cursor="not-a-cursor")
    assert refused.value.field == "cursor"


# ---- code and resend (R15) ---------------------------------------------------------------
def _another_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def test_a_wrong_code_counts_an_attempt_and_the_right_one_verifies(stack: Stack) -> None:
    wid = await _created(stack)
    code = await stack.code_for("acct-auto")

    missed = await withdrawals.submit_code(stack.engine, stack.client, wid, _another_code(code))
    verified = await withdrawals.submit_code(stack.engine, stack.client, wid, code)

    assert missed.verdict is CodeVerdict.WRONG
    assert missed.attempts_left == MAX_CODE_ATTEMPTS - 1
    assert verified.verdict is CodeVerdict.VERIFIED


async def test_a_malformed_code_never_reaches_the_workflow(stack: Stack) -> None:
    wid = await _created(stack)
    code = await stack.code_for("acct-auto")
    with pytest.raises(InputError):
        await withdrawals.submit_code(stack.engine, stack.client, wid, "12ab")

    missed = await withdrawals.submit_code(stack.engine, stack.client, wid, _another_code(code))
    assert missed.attempts_left == MAX_CODE_ATTEMPTS - 1  # the malformed one cost none


async def test_resend_is_throttled_then_texts_a_new_code(clock_stack: Stack) -> None:
    stack = clock_stack
    wid = await _created(stack)
    first = await stack.code_for("acct-auto")
    with pytest.raises(RuleRefusal) as throttled:  # the first code was just sent
        await withdrawals.resend(stack.engine, stack.client, wid)
    assert throttled.value.rule == "R15"

    await stack.env.sleep(CODE_RESEND_COOLDOWN_SECONDS + 1)
    sent = await withdrawals.resend(stack.engine, stack.client, wid)

    assert sent.expires_at > sent.sent_at
    assert await stack.code_for("acct-auto", after=first) != first


# ---- cancel (R18, R19) -------------------------------------------------------------------
async def test_cancel_before_payout_releases_the_money_and_a_retry_gets_the_same(
    stack: Stack,
) -> None:
    wid = await _created(stack, amount="70.00")

    doc = await withdrawals.cancel(stack.engine, stack.client, wid, by="acct-auto")
    again = await withdrawals.cancel(stack.engine, stack.client, wid, by="acct-auto")

    assert doc.status is Status.CANCELLED and again.status is Status.CANCELLED
    await stack.wait_until(lambda: stack.account("acct-auto").held_fen == 0)
    assert stack.debits(wid) == []


async def test_cancel_of_an_unknown_withdrawal_is_not_found(stack: Stack) -> None:
    with pytest.raises(NotFound):
        await withdrawals.cancel(stack.engine, stack.client, "w-never-requested")
