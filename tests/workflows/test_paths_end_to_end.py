"""One run of each path end to end: the real dev server, a real SQLite ledger, the
HTTP payout and SMS simulators. Long timers (code expiry, review SLA) are covered on
the time-skipping server in ``test_paths_time_skipping``."""

from __future__ import annotations

import pytest

from models.domain import DesignatedReason, Kind, Route, Status
from models.limits import MAX_CODE_ATTEMPTS
from models.messages import CodeVerdict
from standins.simulators.runner import RunningServer
from tests.workflows.harness import Stack, alipay_payee, bank_payee
from tests.workflows.test_paths_time_skipping import assert_paid, assert_released

Simulators = tuple[RunningServer, RunningServer]


def movements(simulators: Simulators, withdrawal_id: str) -> int:
    moved: dict[str, int] = simulators[0].stats()["movements"]
    return moved.get(withdrawal_id, 0)


async def test_auto_path_end_to_end(sim_stack: Stack, simulators: Simulators) -> None:
    wid = await sim_stack.start(amount="100.00")
    await sim_stack.verify(wid, "acct-auto")
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED and not doc.review_required
    assert movements(simulators, wid) == 1
    assert_paid(sim_stack, wid, "acct-auto", "900.00")


@pytest.mark.parametrize("route", [Route.ALIPAY, Route.BANK])
async def test_designated_route_approved_end_to_end(
    sim_stack: Stack, simulators: Simulators, route: Route
) -> None:
    payee = alipay_payee() if route is Route.ALIPAY else bank_payee()
    wid = await sim_stack.start(
        amount="150.00",
        route=route,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=payee,
    )
    await sim_stack.verify(wid, "acct-auto")
    await sim_stack.wait_status(wid, Status.UNDER_REVIEW)
    await sim_stack.approve(wid, "rev-1")
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    assert movements(simulators, wid) == 1
    assert_paid(sim_stack, wid, "acct-auto", "850.00")


async def test_rejection_end_to_end(sim_stack: Stack, simulators: Simulators) -> None:
    wid = await sim_stack.start(
        amount="120.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee(),
    )
    await sim_stack.verify(wid, "acct-auto")
    await sim_stack.wait_status(wid, Status.UNDER_REVIEW)
    await sim_stack.reject(wid, "rev-1", "payee does not match the proof")
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.REJECTED and doc.reason == "payee does not match the proof"
    assert movements(simulators, wid) == 0
    assert_released(sim_stack, wid, "acct-auto", "1000.00")


async def test_non_recharge_application_end_to_end(
    sim_stack: Stack, simulators: Simulators
) -> None:
    wid = await sim_stack.start(
        account_id="acct-ent",
        amount="200.00",
        kind=Kind.NON_RECHARGE,
        route=Route.ALIPAY,
        payee=alipay_payee(),
    )
    await sim_stack.verify(wid, "acct-ent")
    await sim_stack.wait_status(wid, Status.UNDER_REVIEW)
    await sim_stack.approve(wid, "rev-2")
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    assert movements(simulators, wid) == 1
    assert_paid(sim_stack, wid, "acct-ent", "600.00")


async def test_risk_review_end_to_end(sim_stack: Stack, simulators: Simulators) -> None:
    wid = await sim_stack.start(account_id="acct-risk", amount="100.00", order_id="R-RISK")
    await sim_stack.verify(wid, "acct-risk")
    doc = await sim_stack.wait_status(wid, Status.UNDER_REVIEW)
    assert doc.review_required
    await sim_stack.approve(wid, "rev-1")
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.SUCCEEDED
    assert_paid(sim_stack, wid, "acct-risk", "400.00")


async def test_wrong_codes_end_to_end(sim_stack: Stack, simulators: Simulators) -> None:
    wid = await sim_stack.start(amount="50.00")
    await sim_stack.wait_status(wid, Status.AWAITING_CODE)
    right = await sim_stack.code_for("acct-auto")
    wrong = f"{(int(right) + 7) % 1_000_000:06d}"
    for _ in range(MAX_CODE_ATTEMPTS):
        result = await sim_stack.client.submit_code(wid, wrong)
        assert result.verdict is CodeVerdict.WRONG
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.CANCELLED
    assert movements(simulators, wid) == 0
    assert_released(sim_stack, wid, "acct-auto", "1000.00")


async def test_cancel_end_to_end(sim_stack: Stack, simulators: Simulators) -> None:
    wid = await sim_stack.start(amount="30.00")
    await sim_stack.wait_status(wid, Status.AWAITING_CODE)
    doc = await sim_stack.client.cancel(wid, by="acct-auto")
    assert doc.status is Status.CANCELLED
    assert movements(simulators, wid) == 0
    assert_released(sim_stack, wid, "acct-auto", "1000.00")


async def test_transient_faults_then_success_end_to_end(
    sim_stack: Stack, simulators: Simulators
) -> None:
    simulators[0].set_faults(error_rate=0.3, commit_then_drop_rate=0.3, seed=3)
    wid = await sim_stack.start(amount="60.00")
    await sim_stack.verify(wid, "acct-auto")
    doc = await sim_stack.client.result(wid)
    simulators[0].set_faults()
    assert doc.status is Status.SUCCEEDED
    assert movements(simulators, wid) == 1  # a dropped answer never leads to a resend
    assert_paid(sim_stack, wid, "acct-auto", "940.00")


async def test_permanent_refusal_end_to_end(sim_stack: Stack, simulators: Simulators) -> None:
    wid = await sim_stack.start(
        amount="70.00",
        route=Route.ALIPAY,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=alipay_payee().model_copy(update={"name": "CLOSED Account Holder"}),
    )
    await sim_stack.verify(wid, "acct-auto")
    await sim_stack.wait_status(wid, Status.UNDER_REVIEW)
    await sim_stack.approve(wid, "rev-1")
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.FAILED and doc.reason == "account_closed"
    assert movements(simulators, wid) == 0
    assert_released(sim_stack, wid, "acct-auto", "1000.00")


async def test_failure_after_acceptance_end_to_end(
    sim_stack: Stack, simulators: Simulators
) -> None:
    wid = await sim_stack.start(
        amount="80.00",
        route=Route.BANK,
        order_id="R-ICBC-OLD",
        reason=DesignatedReason.LIMIT_PASSED,
        payee=bank_payee("6222020200112234444"),
    )
    await sim_stack.verify(wid, "acct-auto")
    await sim_stack.wait_status(wid, Status.UNDER_REVIEW)
    await sim_stack.approve(wid, "rev-1")
    doc = await sim_stack.client.result(wid)
    assert doc.status is Status.FAILED
    assert doc.reason == "account_closed"  # the provider's words, as a word (issue 22)
    assert_released(sim_stack, wid, "acct-auto", "1000.00")


async def test_duplicate_start_end_to_end(sim_stack: Stack, simulators: Simulators) -> None:
    first = await sim_stack.start(amount="10.00", withdrawal_id="w-e2e-dup")
    second = await sim_stack.start(amount="10.00", withdrawal_id="w-e2e-dup")
    assert first == second
    await sim_stack.verify(first, "acct-auto")
    doc = await sim_stack.client.result(first)
    assert doc.status is Status.SUCCEEDED
    assert movements(simulators, first) == 1
    assert_paid(sim_stack, first, "acct-auto", "990.00")
