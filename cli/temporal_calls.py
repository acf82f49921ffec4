"""Calling the withdrawal workflow from a command: one connection, failures as exit statuses.

Commands are synchronous; each call here runs one ``asyncio`` loop for the whole command.
What Temporal answers is translated into the docs/interface.md vocabulary: an update's validator
refusing (``R15: a new code can be sent in 42 seconds``) is a ``RuleRefusal`` (exit 3), an
unknown workflow is ``NotFound`` (exit 2), an unreachable server is exit 1 with one line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from application import withdrawals
from application.withdrawals import as_refusal, is_not_found, live_status, unknown_withdrawal
from cli.command import Context
from cli.errors import fail
from client.connection import connect, connect_options
from client.withdrawals import WithdrawalClient
from models.errors import RuleRefusal

T = TypeVar("T")

__all__ = ["as_refusal", "fail", "is_not_found", "live_status", "unknown_withdrawal"]


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


def run_update(
    context: Context,
    withdrawal_id: str,
    rule: str,
    call: Callable[[WithdrawalClient], Awaitable[T]],
) -> T:
    """Run an update (code, resend, cancel) through ``application.withdrawals.run_update``."""
    return run_with_client(
        lambda client: withdrawals.run_update(
            context.engine, withdrawal_id, rule, lambda: call(client)
        )
    )


def ended(context: Context, withdrawal_id: str, rule: str) -> RuleRefusal:
    """The refusal for a withdrawal whose workflow no longer runs (or ``NotFound``)."""
    return withdrawals.ended(context.engine, withdrawal_id, rule)
