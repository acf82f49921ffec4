"""``starter.py demo`` against the stack ``make run`` starts, brought up by the launcher's
own code on free ports: every path must end as the demo promises (R6–R19)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from cli.app import main
from cli.command import Context
from demo.paths import DEMO_PATHS
from stack import Ports, Stack, StackConfig
from tests.surface.cli import run_cli

# Payouts settle within this many real seconds: the demo then takes a few seconds.
SETTLE_SECONDS = 1.0
# The returned path's bank returns it this soon after success (issue 25), not 2 s.
RETURN_AFTER_SECONDS = 0.3
DEMO_TIMEOUT_SECONDS = 240

EXPECTED = {
    "auto_original": "succeeded",
    "designated_alipay": "succeeded",
    "bank_rejected": "rejected",
    "non_recharge": "succeeded",
    "risk_review": "succeeded",
    "cancel": "cancelled",
    "payout_failure": "failed",
    "returned": "returned",  # issue 25: paid, then returned by the bank
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    config = StackConfig.local(
        tmp_path_factory.mktemp("demo-stack"),
        Ports.free(),
        max_settle_seconds=SETTLE_SECONDS,
        return_after_seconds=RETURN_AFTER_SECONDS,
    )
    running = await Stack.start(config)
    yield running
    running.stop()


def demo_env(stack: Stack) -> dict[str, str]:
    return {**stack.child_env(), "TEMPORAL_UI_PORT": str(stack.config.ports.ui)}


def run_demo(stack: Stack, *args: str) -> Any:
    result = run_cli("demo", *args, env=demo_env(stack), timeout=DEMO_TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def first_run() -> dict[str, str]:
    """The first run's withdrawal ids, per path, for the second run to differ from."""
    return {}


async def test_demo_ends_every_path_as_expected(stack: Stack, first_run: dict[str, str]) -> None:
    result = run_demo(stack, "--json")
    outcomes = json.loads(result.stdout)
    assert {o["path"]: o["status"] for o in outcomes} == EXPECTED
    assert all(o["ok"] for o in outcomes)
    by_path = {o["path"]: o for o in outcomes}
    assert by_path["bank_rejected"]["status_zh"] == "审批拒绝"  # R18
    assert by_path["bank_rejected"]["reason"]
    assert by_path["payout_failure"]["reason"] == "account_closed"  # issue 22's vocabulary
    assert by_path["payout_failure"]["status_zh"] == "提现失败"
    ui = f"http://localhost:{stack.config.ports.ui}/namespaces/default/workflows/withdrawal-"
    for outcome in outcomes:
        assert outcome["workflow_url"] == ui + outcome["withdrawal_id"]
        assert outcome["amount"].count(".") == 1 and len(outcome["amount"].split(".")[1]) == 2
    # Progress went to stderr, one line a step; no full account number anywhere.
    assert "[payout_failure] started" in result.stderr
    assert "6225880123456784444" not in result.stderr + result.stdout
    assert "****4444" in result.stderr
    first_run.update({o["path"]: o["withdrawal_id"] for o in outcomes})


async def test_demo_runs_again_on_the_same_data_with_fresh_ids(
    stack: Stack, first_run: dict[str, str]
) -> None:
    result = run_demo(stack)  # the table for people this time, progress on stdout
    assert f"{len(EXPECTED)} of {len(EXPECTED)} paths ended as expected." in result.stdout
    assert "提现成功" in result.stdout and "已取消" in result.stdout
    for path in DEMO_PATHS:
        assert f"[{path.name}] ended" in result.stdout
        if path.name in first_run:
            assert first_run[path.name] not in result.stdout


def test_demo_without_the_demo_accounts_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process (same code as starter.py): nothing is started, so no stack is needed.
    context = Context(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["demo"], context) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "starter.py load fixtures/demo.json" in err
