"""Migrations: the schema every command brings up to date matches the table models, on
both backends, even when several processes open a fresh database at once."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import SQLModel, col, select

import ledger.tables  # noqa: F401  (registers the tables)
from ledger.db import dispose_engine, get_engine, session_scope
from ledger.migrate import SCHEMA_HEAD, alembic_config, upgrade_to_head
from ledger.tables import Account, PaygResource, RechargeOrder
from models.domain import AccountStatus, AccountType, Channel
from tests.ledger.data import load


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    upgrade_to_head(engine)  # already at head: a no-op


def test_schema_head_constant_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [SCHEMA_HEAD]


def _open(url: str) -> str:
    engine = get_engine(url)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return str(version)


def test_processes_opening_a_fresh_database_at_once_all_succeed(empty_db_url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        versions = pool.map(_open, [empty_db_url] * 3)
    assert versions == [SCHEMA_HEAD] * 3
    dispose_engine(empty_db_url)


def test_times_come_back_aware_utc(engine: Engine) -> None:
    load(engine)
    shanghai = timezone(timedelta(hours=8))
    released = datetime(2026, 11, 1, 8, 0, tzinfo=shanghai)
    with session_scope(engine) as session:
        resource = session.get(PaygResource, "ecs-1")
        assert resource is not None
        resource.released_at = released
    with session_scope(engine) as session:
        resource = session.get(PaygResource, "ecs-1")
        assert resource is not None and resource.released_at is not None
        assert resource.released_at == released
        assert resource.released_at.tzinfo is UTC
        resource.released_at = datetime(2026, 11, 1, 8, 0)  # naive: ambiguous, refused
        with pytest.raises(StatementError, match="naive"):
            session.flush()
        session.rollback()


def test_database_refuses_negative_money(engine: Engine) -> None:
    load(engine)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        account = session.get(Account, "acct-plain")
        assert account is not None
        account.held_fen = -1


def test_enum_columns_come_back_as_members_and_store_their_values(engine: Engine) -> None:
    load(engine)
    with session_scope(engine) as session:
        order = session.get(RechargeOrder, "P-ORDER")
        account = session.get(Account, "acct-frozen")
        assert order is not None and account is not None
        assert order.channel is Channel.ALIPAY
        assert account.type is AccountType.PERSONAL
        assert account.status is AccountStatus.FROZEN
        account.status = "normal"  # type: ignore[assignment]  # a plain value still writes
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT status FROM account WHERE id = 'acct-frozen'"))
        assert type(stored.scalar_one()) is str  # the column holds the bare value
    with session_scope(engine) as session:
        by_text = select(Account.id).where(Account.status == "normal")
        by_member = select(Account.id).where(Account.status == AccountStatus.NORMAL)
        assert set(session.exec(by_text)) == set(session.exec(by_member)) >= {"acct-frozen"}
        status = session.exec(select(col(Account.status)).where(Account.id == "acct-frozen")).one()
        assert status is AccountStatus.NORMAL


def test_database_refuses_an_unknown_enum_value(engine: Engine) -> None:
    load(engine)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        account = session.get(Account, "acct-plain")
        assert account is not None
        account.status = "asleep"  # type: ignore[assignment]  # the CHECK refuses it
