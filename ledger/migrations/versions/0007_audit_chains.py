"""Audit trail: one hash chain per subject instead of one global chain, plus anchors.

- ``audit_log`` gains ``chain`` and ``chain_seq``; rows written before this revision
  keep their hashes and become the chain ``*`` (``ledger.audit.LEGACY_CHAIN``) with
  ``chain_seq = seq``. The unique ``prev_hash`` (one global chain) gives way to a unique
  ``(chain, chain_seq)``; on PostgreSQL ``seq`` now comes from a sequence, so writers of
  different chains take no common lock.
- ``audit_anchor`` and ``audit_anchor_head``: periodic anchors over the chains' heads,
  append-only like the log.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-29 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_CHAIN = '*'
APPEND_ONLY_TABLES = ('audit_anchor', 'audit_anchor_head')


def _append_only_postgresql(table: str) -> None:
    # audit_log_append_only() exists since 0002: the same refusal for the new tables.
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )


def _append_only_sqlite(table: str) -> None:
    for event in ('UPDATE', 'DELETE'):
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _sqlite_log_triggers(create: bool) -> None:
    for event in ('UPDATE', 'DELETE'):
        if create:
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event.lower()}")


def _create_anchor_tables() -> None:
    op.create_table('audit_anchor',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heads', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id > 0', name='ck_audit_anchor_id_positive'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash', name='uq_audit_anchor_hash')
    )
    op.create_table('audit_anchor_head',
    sa.Column('anchor_id', sa.BigInteger(), nullable=False),
    sa.Column('chain', sa.String(length=64), nullable=False),
    sa.Column('chain_seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['anchor_id'], ['audit_anchor.id'], ),
    sa.PrimaryKeyConstraint('anchor_id', 'chain')
    )
    op.create_index('ix_audit_anchor_head_chain', 'audit_anchor_head', ['chain'], unique=False)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        _sqlite_log_triggers(create=False)
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column(
            'chain', sa.String(length=64), nullable=False, server_default=LEGACY_CHAIN
        ))
        batch.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_log SET chain_seq = seq")
    with op.batch_alter_table('audit_log') as batch:
        batch.alter_column('chain', server_default=None)
        batch.alter_column('chain_seq', existing_type=sa.BigInteger(), nullable=False)
        batch.drop_constraint('uq_audit_log_prev_hash', type_='unique')
        batch.create_unique_constraint('uq_audit_log_chain_seq', ['chain', 'chain_seq'])
        batch.create_check_constraint('ck_audit_log_chain_seq_positive', 'chain_seq > 0')
    _create_anchor_tables()
    if postgres:
        op.execute("CREATE SEQUENCE audit_log_seq_seq OWNED BY audit_log.seq")
        op.execute(
            "SELECT setval('audit_log_seq_seq', COALESCE((SELECT max(seq) FROM audit_log), 0) + 1,"
            " false)"
        )
        op.execute("ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq_seq')")
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        for table in APPEND_ONLY_TABLES:
            _append_only_postgresql(table)
    else:
        _sqlite_log_triggers(create=True)
        for table in APPEND_ONLY_TABLES:
            _append_only_sqlite(table)


def _refuse_downgrade_of_chains() -> None:
    # Rows of per-subject chains cannot rejoin one global chain (their hashes cover
    # chain and chain_seq): refuse rather than leave a log that no longer verifies.
    query = sa.text("SELECT count(*) FROM audit_log WHERE chain <> :legacy")
    if op.get_bind().execute(query, {"legacy": LEGACY_CHAIN}).scalar():
        raise RuntimeError("audit_log holds per-subject chains: 0007 cannot be downgraded")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    _refuse_downgrade_of_chains()
    for table in APPEND_ONLY_TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for event in ('update', 'delete'):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    op.drop_index('ix_audit_anchor_head_chain', table_name='audit_anchor_head')
    op.drop_table('audit_anchor_head')
    op.drop_table('audit_anchor')
    if postgres:
        op.execute("ALTER TABLE audit_log ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_log_seq_seq")
    else:
        _sqlite_log_triggers(create=False)
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_constraint('ck_audit_log_chain_seq_positive', type_='check')
        batch.drop_constraint('uq_audit_log_chain_seq', type_='unique')
        batch.create_unique_constraint('uq_audit_log_prev_hash', ['prev_hash'])
        batch.drop_column('chain_seq')
        batch.drop_column('chain')
    if not postgres:
        _sqlite_log_triggers(create=True)
