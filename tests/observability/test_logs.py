"""LOG_FORMAT=json: one JSON object per line, ids as fields, nothing personal."""

from __future__ import annotations

import json
import logging

import pytest
from temporalio import activity, workflow

from observability.logs import JsonFormatter, MaskingFormatter, configure_logging


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("temporalio.activity", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_activity_context_becomes_fields_with_the_withdrawal_id() -> None:
    line = JsonFormatter().format(
        record(
            "finished: succeeded",
            temporal_activity={
                "activity_id": "6",
                "activity_type": "settle",
                "attempt": 1,
                "workflow_id": "withdrawal-w-1",
                "workflow_run_id": "run-1",
                "workflow_type": "WithdrawalWorkflow",
                "task_queue": "withdrawals",
                "heartbeat_details": ["anything else stays out"],
            },
        )
    )
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["withdrawal_id"] == "w-1"
    assert (fields["activity_type"], fields["workflow_id"]) == ("settle", "withdrawal-w-1")
    assert fields["message"] == "finished: succeeded" and fields["level"] == "info"
    assert "heartbeat_details" not in fields


def test_phone_and_account_numbers_are_masked_in_both_formats() -> None:
    message = "sent to +8613800000002 for 6222021234567890123, withdrawal w-20261126-0001"
    for formatter in (JsonFormatter(), MaskingFormatter("%(message)s")):
        out = formatter.format(record(message))
        assert "13800000002" not in out and "6222021234567890123" not in out
        assert "w-20261126-0001" in out  # ids and dates are kept


def test_readable_lines_by_default_json_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    on_message = activity.logger.activity_info_on_message, workflow.logger.workflow_info_on_message
    try:
        monkeypatch.delenv("LOG_FORMAT", raising=False)
        configure_logging()
        assert isinstance(root.handlers[0].formatter, MaskingFormatter)
        monkeypatch.setenv("LOG_FORMAT", "json")
        configure_logging()
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        activity.logger.activity_info_on_message = on_message[0]
        workflow.logger.workflow_info_on_message = on_message[1]
