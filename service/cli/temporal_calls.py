"""Calling the withdrawal workflow from a command: one connection, failures as exit statuses.

Commands are synchronous; each call here runs one ``asyncio`` loop for the whole command.
What Temporal answers is translated into the docs/interface.md vocabulary: an update's validator
refusing (``R15: a new code can be sent in 42 seconds``) is a ``RuleRefusal`` (exit 3), an
unknown workflow is ``NotFound`` (exit 2), an unreachable server is exit 1 with one line.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar, cast

from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.domain import WithdrawalStatusDoc
from models.errors import NotFound, RuleRefusal
from service.cli.command import Context
from service.cli.errors import fail
from service.cli.records import status_with_reason
from service.client import WithdrawalClient
from service.temporal_client import connect, connect_options

T = TypeVar("T")

# A query needs a worker to answer; without one the server waits until the deadline.
QUERY_TIMEOUT_SECONDS = 5.0
_RULE_PREFIX = re.compile(r"^(R\d+): (.*)$", re.DOTALL)


def temporal_address() -> str:
    return str(connect_options().get("target_host"))


def unreachable() -> NoReturn:
    fail(f"cannot reach Temporal at {temporal_address()}: is `make run` running?")


def run_with_client(call: Callable[[WithdrawalClient], Awaitable[T]]) -> T:
    """Connect (exit 1 if Temporal is not there) and run ``call`` to the end."""

    async def main() -> T:
        try:
            client = WithdrawalClient(await connect())
        except RuntimeError:  # temporalio's "Failed client connect: …"
            unreachable()
        try:
            return await call(client)
        except RPCError as error:
            if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                unreachable()
            raise
        except (RPCTimeoutOrCancelledError, WorkflowUpdateRPCTimeoutOrCancelledError):
            unreachable()

    return asyncio.run(main())


def as_refusal(message: str, default_rule: str) -> RuleRefusal:
    """A workflow's refusal text as a ``RuleRefusal``, keeping the rule it already cites."""
    match = _RULE_PREFIX.match(message.strip())
    if match:
        return RuleRefusal(match.group(1), match.group(2))
    return RuleRefusal(default_rule, message.strip())


def is_not_found(error: RPCError) -> bool:
    return error.status is RPCStatusCode.NOT_FOUND


def unknown_withdrawal(withdrawal_id: str) -> NotFound:
    return NotFound("withdrawal", f"no withdrawal {withdrawal_id!r}")


def run_update(
    context: Context,
    withdrawal_id: str,
    rule: str,
    call: Callable[[WithdrawalClient], Awaitable[T]],
) -> T:
    """Run an update (code, resend, cancel). A validator's refusal becomes a
    ``RuleRefusal`` citing ``rule`` unless it cites its own; a workflow that has closed
    or is gone is answered from the database record: how it ended, or that it never was.
    """

    async def attempt(client: WithdrawalClient) -> tuple[bool, T | None]:
        try:
            return True, await call(client)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise as_refusal(message, rule) from None
        except RPCError as error:
            if is_not_found(error):
                return False, None
            raise

    running, result = run_with_client(attempt)
    if not running:
        raise ended(context, withdrawal_id, rule)
    return cast(T, result)


def ended(context: Context, withdrawal_id: str, rule: str) -> RuleRefusal:
    """The refusal for a withdrawal whose workflow no longer runs (or ``NotFound``)."""
    # Imported here: only this fallback needs the database, and a command that talks to
    # Temporal should not pay for loading it (docs/architecture.md, a quick CLI).
    from ledger.db import session_scope
    from service.cli.records import record_document

    with session_scope(context.engine) as session:
        recorded = record_document(session, withdrawal_id)
    if recorded is None:
        raise unknown_withdrawal(withdrawal_id)
    return RuleRefusal(
        rule,
        f"withdrawal {withdrawal_id} is already "
        f"{status_with_reason(recorded.status, recorded.reason)}",
    )


async def live_status(client: WithdrawalClient, withdrawal_id: str) -> WithdrawalStatusDoc | None:
    """The running workflow's own status document, or None when it cannot answer now
    (no such workflow, or no worker within ``QUERY_TIMEOUT_SECONDS``)."""
    try:
        return await asyncio.wait_for(client.status(withdrawal_id), QUERY_TIMEOUT_SECONDS)
    except TimeoutError:
        return None
    except RPCError as error:
        if is_not_found(error):
            return None
        raise
