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
import re
import traceback
from typing import Any

# 8+ digits standing alone (phones, bank cards, Alipay numbers), with an optional + (or a
# URL-encoded %2B), or a card number written in groups of four.
_DIGITS = re.compile(r"(?<![\w.:-])\+?\d{8,}(?![\w])|(?<![\w.:-])\d{4}(?: \d{2,4}){2,}(?![\w])")
_ENCODED_PLUS = re.compile(r"%2[Bb](\d{8,})(?![\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
KEEP_LAST_DIGITS = 4


def _mask_digits(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 8:
        return match.group(0)
    return "*" * 4 + digits[-KEEP_LAST_DIGITS:]


def mask_personal_data(text: str) -> str:
    text = _ENCODED_PLUS.sub(lambda m: "%2B" + _mask_digits(m), text)
    return _EMAIL.sub("***@***", _DIGITS.sub(_mask_digits, text))


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
