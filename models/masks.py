"""Personal data as people may see it: every mask in one place, so a face, a log line and a
simulator hide an account number, a phone or a name the same way.

Masks for one known value (an account number, a phone, a name) keep just enough to tell
values apart; the two text masks are log backstops that find digit runs and e-mail
addresses in free text whatever wrote it.
"""

from __future__ import annotations

import re

KEEP_LAST_DIGITS = 4


def mask_account_number(number: str) -> str:
    """Only the last four digits are ever shown to people (logs, UI, SMS); an
    e-mail style Alipay account keeps its first letter and its domain instead."""
    if "@" in number:
        local, _, domain = number.partition("@")
        return f"{local[:1]}***@{domain}"
    tail = number[-4:] if len(number) >= 4 else number
    return f"****{tail}"


def mask_phone(phone: str) -> str:
    """Phones are personal data: logs show the last four digits only."""
    return f"****{phone[-4:]}" if len(phone) >= 4 else "****"


def mask_name(name: str) -> str:
    """A payee's name as a reviewer sees it: the first character, the rest hidden."""
    name = name.strip()
    return name[:1] + "*" * min(max(len(name) - 1, 1), 4) if name else ""


# ---- free text: log backstops ------------------------------------------------------------
# Eleven or more digits, optionally after +: a mobile number (R15) or an account number.
_LONG_DIGITS = re.compile(r"\+?\d[\d ]{9,}\d")


def mask_digits(text: str) -> str:
    """JSON log lines (``observability.logs``): long digit runs become ``[masked]``."""
    return _LONG_DIGITS.sub("[masked]", text)


# 8+ digits standing alone (phones, bank cards, Alipay numbers), with an optional + (or a
# URL-encoded %2B), or a card number written in groups of four.
_DIGITS = re.compile(r"(?<![\w.:-])\+?\d{8,}(?![\w])|(?<![\w.:-])\d{4}(?: \d{2,4}){2,}(?![\w])")
_ENCODED_PLUS = re.compile(r"%2[Bb](\d{8,})(?![\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _mask_digit_run(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 8:
        return match.group(0)
    return "*" * 4 + digits[-KEEP_LAST_DIGITS:]


def mask_personal_data(text: str) -> str:
    """Every log record (``observability.log_filter``): phones and account numbers keep their
    last four digits, e-mail addresses become ``***@***``."""
    text = _ENCODED_PLUS.sub(lambda m: "%2B" + _mask_digit_run(m), text)
    return _EMAIL.sub("***@***", _DIGITS.sub(_mask_digit_run, text))
