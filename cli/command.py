"""What a subcommand is: a name, its arguments, and a function from arguments to a result.

A command module under ``cli.commands`` defines ``COMMAND = Command(...)`` and is
registered by one line in ``cli.commands.COMMANDS``; the app imports it only when
that command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the database is imported only by commands that open it
    from sqlalchemy import Engine


@dataclass(frozen=True)
class Result:
    """``document`` is printed under ``--json`` (exactly one JSON document); ``text`` otherwise."""

    document: Any
    text: str
    # A command whose answer is a finding rather than an error (``reconcile`` found
    # mismatches) prints its document and still exits non-zero.
    exit_status: int = 0


@dataclass
class Context:
    """What every command may need, created lazily so a command that needs no database
    does not open (or migrate) one."""

    database_url: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @cached_property
    def engine(self) -> Engine:
        from ledger.db import get_engine  # migrations run on first use (docs/interface.md)

        return get_engine(self.database_url)

    def now(self) -> datetime:
        return self.clock()


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], Result]
