"""The stack's database before the worker starts: schema at head, demo data loaded once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from demo.data import DemoHints, demo_hints, demo_reviewers, load_missing_demo_data
from ledger.db import dispose_engine, get_engine, run_in_transaction
from ledger.loading import LoadSummary
from models.errors import InputError
from stack.config import StackConfig


def prepare_database(
    config: StackConfig, echo: Callable[[str], None]
) -> tuple[DemoHints | None, list[tuple[str, str, str]]]:
    """Schema at head (the worker would do it too) and the demo accounts, once.

    Returns the hints and reviewers the banner shows (none without a fixture). A fixture
    that does not load is reported, not fatal: the stack is useful without demo data.
    """
    hints: DemoHints | None = None
    reviewers: list[tuple[str, str, str]] = []
    url = config.database_url
    try:
        engine = get_engine(url)
        fixture = config.fixture
        if fixture is None:
            return hints, reviewers
        if not fixture.is_file():
            echo(f"no demo data: {fixture} is missing (load one with starter.py load)")
            return hints, reviewers
        hints = demo_hints(fixture)
        reviewers = demo_reviewers(fixture)
        summary = run_in_transaction(engine, load_missing_demo_data, fixture)
        echo(_demo_message(fixture, summary, config.data_dir))
    except InputError as error:
        echo(f"demo data not loaded: {error}")
    except ValidationError as error:
        echo(f"demo data not loaded: {fixture} has {error.error_count()} problems")
    finally:
        dispose_engine(url)  # the launcher keeps no database connection open
    return hints, reviewers


def _demo_message(fixture: Path, summary: LoadSummary, data_dir: Path) -> str:
    created = summary.accounts.created + summary.recharge_orders.created
    if created == 0 and summary.reviewers.created == 0:
        # Re-loading never resets balances: the ledger owns them once opened.
        return (
            f"demo data from {fixture.name} already loaded; balances kept as the ledger has "
            f"them (to start over: stop, remove {data_dir}, and `make run` again)"
        )
    return (
        f"demo data loaded from {fixture.name}: {summary.accounts.created} accounts, "
        f"{summary.recharge_orders.created} recharge orders, "
        f"{summary.reviewers.created} reviewers"
    )
