"""Security: review decisions, code attempts, and the hash-chained audit log.

- ``review_decision``: who approved or rejected a withdrawal, when, why, and whether it
  counted (R17, four-eyes);
- ``verification_code.attempts``: codes checked, for the R15 attempt limit in the ledger;
- ``audit_log``: append-only and hash-chained (``ledger.audit``); triggers refuse UPDATE
  and DELETE on both SQLite and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_log is append-only"


def upgrade() -> None:
    with op.batch_alter_table('verification_code') as batch:
        batch.add_column(
            sa.Column('attempts', sa.Integer(), nullable=False, server_default='0')
        )

    op.create_table('review_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approve', 'reject')", name='ck_review_decision_decision'),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawal.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('withdrawal_id', 'sequence', name='uq_review_decision_sequence')
    )
    op.create_index('ix_review_decision_withdrawal_id', 'review_decision', ['withdrawal_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('seq > 0', name='ck_audit_log_seq_positive'),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash', name='uq_audit_log_hash'),
    sa.UniqueConstraint('prev_hash', name='uq_audit_log_prev_hash')
    )
    op.create_index('ix_audit_log_subject', 'audit_log', ['subject'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index('ix_audit_log_subject', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ix_review_decision_withdrawal_id', table_name='review_decision')
    op.drop_table('review_decision')
    with op.batch_alter_table('verification_code') as batch:
        batch.drop_column('attempts')
