"""A backstop against personal data in logs: phone numbers, account numbers and e-mail
addresses are masked in every log record, whichever library wrote it.

The first defence is not to put them there (``hide_parameters`` on the engines keeps
SQLAlchemy's error text free of bound values; activities log ids, never payees). This
catches what slips through: an exception's text, a library's debug line. It works as a
log-record factory, so it covers loggers and handlers configured later (uvicorn's) and
tracebacks, which it renders and masks when the record is made.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from models.masks import mask_personal_data

_installed = False


def install_personal_data_filter() -> None:
    """Mask every log record this process makes from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = mask_personal_data(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            rendered = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = mask_personal_data(rendered)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        return record

    logging.setLogRecordFactory(masked_record)
