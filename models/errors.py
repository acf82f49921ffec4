"""Named failures shared by the CLI, the activities and the workflow.

``RuleRefusal`` is a business rule saying no (CLI exit 3, a non-retryable
``ApplicationError`` in Temporal, its ``type`` the class name); ``InputError`` is a
malformed request (CLI exit 2). Messages start with the rule they cite ("R14: ...")
or the field they blame ("amount: ...").
"""

from __future__ import annotations

from dataclasses import dataclass


class InputError(ValueError):
    """Malformed input: the message names the field and why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one input field, as data: checks return it, callers raise it
    (``error``) or show it (``str``: "field: why", the words ``InputError`` says)."""

    field: str
    why: str

    def __str__(self) -> str:
        return f"{self.field}: {self.why}"

    def error(self) -> InputError:
        return InputError(self.field, self.why)


@dataclass(frozen=True)
class RuleProblem:
    """A business rule saying no, as data: shown as "R9: why", raised as a refusal."""

    rule: str
    why: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.why}"


class RuleRefusal(Exception):
    """A business rule refuses the request; ``rule`` is e.g. ``"R14"``."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message

    @property
    def error_type(self) -> str:
        """The ``ApplicationError`` type this refusal travels as."""
        return type(self).__name__


class AccountNotEligible(RuleRefusal):
    """R1/R2: not verified, frozen, closed, or someone else's account."""


class InsufficientWithdrawable(RuleRefusal):
    """R12/R14: more than the account or the order has."""


class RouteNotAllowed(RuleRefusal):
    """R8/R9: original route expired, or a designated route without a fitting reason."""


class NotFound(RuleRefusal):
    """An unknown account, order, withdrawal or branch."""


class HoldConflict(RuleRefusal):
    """A hold id reused for a different amount or account, or resolved the other way."""


class AuthenticationFailed(RuleRefusal):
    """A reviewer's sign-in failed: wrong password, unknown reviewer or locked. The
    message says nothing more, so it tells a guesser nothing (CLI exit 3)."""

    MESSAGE = "authentication failed"

    def __init__(self) -> None:
        Exception.__init__(self, self.MESSAGE)
        self.rule = "R17"
        self.message = self.MESSAGE
