"""Logging for every process: readable lines by default, JSON lines with ``LOG_FORMAT=json``.

A JSON line carries the withdrawal id and the workflow/activity ids as fields, taken
from the context the Temporal SDK's loggers attach (``temporal_workflow``,
``temporal_activity``) or from ``extra={"withdrawal_id": ...}``. Never personal data:
only those ids and enums are lifted into fields, and long digit runs (phone or account
numbers) in a message are masked as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

from models.domain import WORKFLOW_ID_PREFIX
from models.masks import mask_digits

LOG_FORMAT_ENV = "LOG_FORMAT"
LOG_LEVEL_ENV = "LOG_LEVEL"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The ids and enums a line may carry; anything else in the SDK's context stays out.
_WORKFLOW_FIELDS = ("workflow_id", "run_id", "workflow_type", "task_queue", "attempt")
_ACTIVITY_FIELDS = (
    "activity_id",
    "activity_type",
    "workflow_id",
    "workflow_run_id",
    "workflow_type",
    "task_queue",
    "attempt",
)


def withdrawal_id_of(workflow_id: str | None) -> str | None:
    if workflow_id and workflow_id.startswith(WORKFLOW_ID_PREFIX):
        return workflow_id.removeprefix(WORKFLOW_ID_PREFIX)
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the ids in context."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_digits(record.getMessage()),
        }
        workflow = getattr(record, "temporal_workflow", None)
        if isinstance(workflow, dict):
            line.update({k: workflow[k] for k in _WORKFLOW_FIELDS if k in workflow})
        activity = getattr(record, "temporal_activity", None)
        if isinstance(activity, dict):
            line.update({k: activity[k] for k in _ACTIVITY_FIELDS if k in activity})
        withdrawal_id = getattr(record, "withdrawal_id", None) or withdrawal_id_of(
            line.get("workflow_id")
        )
        if withdrawal_id:
            line["withdrawal_id"] = withdrawal_id
        if record.exc_info:
            line["error"] = mask_digits(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class MaskingFormatter(logging.Formatter):
    """The readable format, with the same masking as the JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_digits(super().format(record))


def configure_logging(level: int | str | None = None) -> None:
    """Set the root handler once per process from ``LOG_FORMAT`` and ``LOG_LEVEL``."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get(LOG_FORMAT_ENV, "").lower() == "json":
        handler.setFormatter(JsonFormatter())
        # The ids become fields; the SDK need not repeat them inside the message.
        activity.logger.activity_info_on_message = False
        workflow.logger.workflow_info_on_message = False
    else:
        handler.setFormatter(MaskingFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get(LOG_LEVEL_ENV, "INFO").upper())
    # One line per provider call would drown the rest; metrics count those calls.
    logging.getLogger("httpx").setLevel(logging.WARNING)
