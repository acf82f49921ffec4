"""The audit anchor runs as a Temporal Schedule on the worker's task queue: triggered, it
records the heads of the chains the withdrawals wrote, and ``audit verify`` then holds
the chains to those heads (a chain cut short after the anchor is reported, exit 4)."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import Session, select
from temporalio.client import ScheduleActionExecutionStartWorkflow

from cli.app import main as cli
from cli.command import Context
from client.schedules import ensure_anchor_schedule
from ledger import tables
from ledger.db import read_only_session
from models.domain import Status
from tests.workflows.harness import Stack
from tests.workflows.stacks import HISTORIES

SCHEDULE_INTERVAL_SECONDS = 3600  # never fires by itself during the test: triggered below


async def test_the_anchor_schedule_anchors_every_withdrawal_chain(
    sim_stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    wid = await sim_stack.start(amount="50.00")
    await sim_stack.verify(wid, "acct-auto")
    assert (await sim_stack.client.result(wid)).status is Status.SUCCEEDED

    client = sim_stack.env.client
    schedule_id = f"audit-anchor-{uuid.uuid4().hex[:8]}"
    created = await ensure_anchor_schedule(
        client, sim_stack.client.task_queue, SCHEDULE_INTERVAL_SECONDS, schedule_id
    )
    assert created
    assert not await ensure_anchor_schedule(
        client, sim_stack.client.task_queue, SCHEDULE_INTERVAL_SECONDS, schedule_id
    )  # a second worker starting finds it and leaves it alone
    handle = client.get_schedule_handle(schedule_id)
    try:
        await handle.trigger()

        def anchored_heads() -> dict[str, int]:
            with read_only_session(sim_stack.engine) as session:
                rows = session.exec(select(tables.AuditAnchorHead)).all()
                return {row.chain: row.chain_seq for row in rows}

        await sim_stack.wait_until(lambda: wid in anchored_heads())
        if os.environ.get("SAVE_HISTORIES"):  # a new workflow type: its history is replayed too
            actions = (await handle.describe()).info.recent_actions
            action = actions[-1].action
            assert isinstance(action, ScheduleActionExecutionStartWorkflow)
            run = client.get_workflow_handle(action.workflow_id)
            await run.result()
            history = await run.fetch_history()
            (HISTORIES / "audit_anchor_schedule_run-0.json").write_text(history.to_json())
    finally:
        await handle.delete()

    url = str(sim_stack.engine.url)
    status = cli(["audit", "verify", "--json"], Context(database_url=url))
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["anchors"] == 1, report

    last_row = anchored_heads()[wid]
    with Session(sim_stack.engine) as session:  # a tamperer removes the withdrawal's last row
        session.execute(text("DROP TRIGGER audit_log_no_delete"))
        session.execute(
            text("DELETE FROM audit_log WHERE chain = :w AND chain_seq = :s"),
            {"w": wid, "s": last_row},
        )
        session.commit()
    status = cli(["audit", "verify", "--json"], Context(database_url=url))
    report = json.loads(capsys.readouterr().out)
    assert status == 4 and report["broken_chain"] == wid, report
