"""Alembic, configured in code so it works from an installed package (no alembic.ini).

``upgrade_to_head`` runs inside one transaction that first takes a database-wide lock,
so two processes starting on a fresh database do not both create the tables. When the
database is already at ``SCHEMA_HEAD`` it returns without importing Alembic at all:
every CLI command opens the database, and that check must cost milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions; tests/ledger/test_schema.py keeps them equal.
SCHEMA_HEAD = "0010"
# Any fixed number: the key of the PostgreSQL advisory lock that serialises upgrades.
MIGRATION_LOCK_KEY = 0x77D_1E6E


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the newest migration; a cheap no-op when it is already there."""
    with engine.connect() as connection:
        if current_revision(connection) == SCHEMA_HEAD:
            return
    from alembic import command

    with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE already serialises
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        command.upgrade(alembic_config(connection), "head")
