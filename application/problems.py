"""Refusals as data: what went wrong, the rule or field it names, and how each face says it.

The CLI turns a problem into an exit status and one line on stderr; the HTTP API into an
``application/problem+json`` answer. Both read the same exception, so the words are the
same from either face. ``RuleRefusal`` (``rule``), ``InputError`` (``field``) and
``NotFound`` already carry their subject as attributes; ``RequestConflict`` adds the
"same id, different request" case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from models.errors import InputError, NotFound, RuleRefusal
from models.money import MoneyError


class RequestConflict(InputError):
    """The id was first used for a different request; ``field`` is the first that differs."""


class ProblemKind(StrEnum):
    BAD_INPUT = "bad-input"  # CLI exit 2, HTTP 400
    REFUSED = "refused"  # exit 3, HTTP 422 with ``rule``
    NOT_FOUND = "not-found"  # exit 2, HTTP 404
    CONFLICT = "conflict"  # exit 2, HTTP 409


@dataclass(frozen=True)
class Problem:
    """One refusal, as every face reports it."""

    kind: ProblemKind
    detail: str
    rule: str | None = None
    field: str | None = None


def problem_of(error: BaseException) -> Problem | None:
    """The typed problem an exception stands for, or None for an unexpected failure."""
    if isinstance(error, RequestConflict):
        return Problem(ProblemKind.CONFLICT, _one_line(str(error)), field=error.field)
    if isinstance(error, InputError):
        return Problem(ProblemKind.BAD_INPUT, _one_line(str(error)), field=error.field)
    if isinstance(error, MoneyError):
        return Problem(ProblemKind.BAD_INPUT, _one_line(str(error)), field="amount")
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False)[0] if error.error_count() else None
        field = ".".join(str(p) for p in first["loc"]) if first else None
        return Problem(ProblemKind.BAD_INPUT, _one_line(str(error)), field=field)
    if isinstance(error, NotFound):
        return Problem(ProblemKind.NOT_FOUND, _one_line(str(error)))
    if isinstance(error, RuleRefusal):
        return Problem(ProblemKind.REFUSED, _one_line(str(error)), rule=error.rule)
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())
