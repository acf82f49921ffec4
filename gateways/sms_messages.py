"""What an SMS inbox shows: one delivered message, and the code read out of it.

Shared by the fake, the SMS simulator and its HTTP client, so ``sms-inbox`` prints the
same ``{at, text, code}`` whichever provider delivered the message.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel

# R15 codes are six digits; the look-arounds stop a phone number or a longer reference
# from being read as a code.
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def extract_code(text: str) -> str | None:
    """The first standalone 6-digit number in ``text``, or None."""
    match = _CODE.search(text)
    return match.group(0) if match else None


class InboxMessage(BaseModel):
    """One delivered SMS as the ``sms-inbox`` command shows it."""

    at: datetime
    text: str
    code: str | None = None

    @classmethod
    def of(cls, text: str, at: datetime) -> InboxMessage:
        return cls(at=at, text=text, code=extract_code(text))
