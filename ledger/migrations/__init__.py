"""Alembic migrations of the ledger schema (see ``ledger.migrate``)."""
