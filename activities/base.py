"""What every withdrawal activity shares: the database, the providers and the clock.

The activities are thin: one transaction calling one ``ledger`` function (which writes
its own audit row), plus any provider call. Here they get the transaction helpers and
the one way a business refusal leaves: a non-retryable ``ApplicationError`` whose
``type`` names the refusal and whose message the workflow shows the user.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from gateways.payout import PayoutProvider
from gateways.sms import SmsProvider
from ledger.db import is_unavailable, run_in_transaction, run_read_only
from models.decision_proof import VerifyKeys, key_list
from models.errors import InputError, RuleRefusal
from models.limits import (
    DATABASE_AWAY_POLL_SECONDS,
    DATABASE_AWAY_WAIT_SECONDS,
    FOUR_EYES_THRESHOLD_YUAN,
)
from models.money import Money
from observability.metrics import WithdrawalMetrics

P = ParamSpec("P")
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def refused(error: RuleRefusal | InputError) -> ApplicationError:
    """A business refusal as Temporal carries it: never retried."""
    kind = error.error_type if isinstance(error, RuleRefusal) else type(error).__name__
    return ApplicationError(str(error), type=kind, non_retryable=True)


class ActivitiesBase:
    """Activities bound to one database and one pair of providers."""

    def __init__(
        self,
        engine: Engine,
        payout: PayoutProvider,
        sms: SmsProvider,
        code_key: bytes,
        *,
        callback_url: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        four_eyes_threshold: Money | None = None,
        metrics: WithdrawalMetrics | None = None,
        review_verify_key: VerifyKeys | None = None,
    ) -> None:
        self._engine = engine
        self._payout = payout
        self._sms = sms
        self._code_key = code_key
        self._callback_url = callback_url
        self._now = clock
        self._four_eyes_threshold = four_eyes_threshold or Money.yuan(FOUR_EYES_THRESHOLD_YUAN)
        self._metrics = metrics or WithdrawalMetrics()
        # Only public keys (every listed one, while a key is rotated): this process can
        # check a reviewer's decision, never make one. Without one no decision counts.
        self._review_verify_key = key_list(review_verify_key)

    @property
    def engine(self) -> Engine:
        return self._engine

    async def _in_transaction(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(session, …)`` in one transaction, off the event loop."""
        return await database_step(lambda: run_in_transaction(self._engine, fn, *args, **kwargs))

    async def _read_only(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A look-up no write depends on: no write lock."""
        return await database_step(lambda: run_read_only(self._engine, fn, *args, **kwargs))


async def database_step(step: Callable[[], T]) -> T:
    """``step()`` off the event loop; while the database is away (``is_unavailable``) it
    is run again every ``DATABASE_AWAY_POLL_SECONDS`` for up to ``DATABASE_AWAY_WAIT_SECONDS``,
    then the error is raised and Temporal retries the activity. A step is one whole
    transaction, rolled back when it failed, so running it again is safe."""
    give_up = time.monotonic() + DATABASE_AWAY_WAIT_SECONDS
    while True:
        try:
            return await asyncio.to_thread(step)
        except Exception as error:
            if not is_unavailable(error) or time.monotonic() >= give_up:
                raise
        await asyncio.sleep(DATABASE_AWAY_POLL_SECONDS)
