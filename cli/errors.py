"""One line per problem, naming the field and why (docs/interface.md), with the exit status."""

from __future__ import annotations

import json
import re
import sys
from typing import NoReturn

from pydantic import ValidationError

from models.errors import InputError, NotFound, RuleRefusal
from models.money import MoneyError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3

_FIELD_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): ")


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validation_lines(error: ValidationError) -> list[str]:
    """``accounts[0].cash: floats are not money; …`` for each problem pydantic found."""
    lines = []
    for problem in error.errors(include_url=False):
        where = _location(tuple(problem["loc"]))
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "json_invalid":
            where = where or "file"
        prefix = _FIELD_PREFIX.match(message)
        if prefix:
            named = prefix.group(1)
            message = message[prefix.end() :]
            last = problem["loc"][-1] if problem["loc"] else None
            # Money names itself "amount"; a validator names the field it blames.
            if named != last and not (named == "amount" and isinstance(last, str)):
                where = f"{where}.{named}" if where else named
        lines.append(f"{where or 'input'}: {message}")
    return lines


def fail(message: str) -> NoReturn:
    """Exit 1 with exactly ``message`` on stderr (``classify`` would prefix the error type)."""
    print(message, file=sys.stderr)
    raise SystemExit(EXIT_FAILURE)


def classify(error: BaseException) -> tuple[int, list[str]]:
    """The exit status and stderr lines for an error that reached the top."""
    if isinstance(error, ValidationError):
        return EXIT_BAD_INPUT, validation_lines(error)
    if isinstance(error, json.JSONDecodeError):
        return EXIT_BAD_INPUT, [f"file: not valid JSON ({error.msg} at line {error.lineno})"]
    # An unknown id is bad input, not a business rule saying no.
    if isinstance(error, InputError | MoneyError | NotFound):
        return EXIT_BAD_INPUT, [_one_line(str(error))]
    if isinstance(error, RuleRefusal):
        return EXIT_REFUSED, [_one_line(str(error))]
    return EXIT_FAILURE, [_one_line(f"error: {type(error).__name__}: {error}")]


def _one_line(text: str) -> str:
    return " ".join(text.split())
