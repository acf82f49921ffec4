"""Migration 0008 (issue 26): reviewers that exist before it stay enabled and keep their
password, on SQLite and PostgreSQL, and the migration goes down again cleanly."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from ledger.db import dispose_engine
from ledger.migrate import alembic_config, upgrade_to_head


def test_existing_reviewers_stay_enabled_across_the_upgrade(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0005")
            connection.execute(
                text(
                    "INSERT INTO reviewer (id, name, role, password_hash, failed_logins) "
                    "VALUES ('rev-old', 'Old', 'reviewer', 'scrypt$x', 0)"
                )
            )
        upgrade_to_head(engine)
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT enabled, password_hash, password_changed_at FROM reviewer")
            ).one()
        assert (bool(row[0]), row[1], row[2]) == (True, "scrypt$x", None)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0005")
            columns = connection.execute(text("SELECT * FROM reviewer")).keys()
        assert "enabled" not in columns and "password_changed_at" not in columns
    finally:
        engine.dispose()
        dispose_engine(empty_db_url)
