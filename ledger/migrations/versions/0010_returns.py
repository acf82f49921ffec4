"""Returns after success (issue 25).

- ``withdrawal.status`` and ``withdrawal_event.status`` accept ``returned`` (the CHECKs
  name every status, so they are rebuilt; SQLite copies the table, which batch mode does);
- ``withdrawal_return``: the provider's return of a paid withdrawal, one per withdrawal,
  credited once or parked for ops; ``return_credit_approval``: ops' approvals to credit a
  parked one (two different reviewers).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_BEFORE = (
    'verifying', 'awaiting_code', 'under_review', 'rejected', 'approved_awaiting_payout',
    'succeeded', 'failed', 'cancelled',
)
STATUSES = (*STATUSES_BEFORE, 'returned')
STATUS_CHECKS = (('withdrawal', 'ck_withdrawal_status'), ('withdrawal_event', 'ck_withdrawal_event_status'))


def _status_check(statuses: tuple[str, ...]) -> str:
    return 'status IN (' + ', '.join(f"'{s}'" for s in statuses) + ')'


def _rebuild_status_checks(statuses: tuple[str, ...]) -> None:
    for table, name in STATUS_CHECKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_='check')
            batch.create_check_constraint(name, _status_check(statuses))


def upgrade() -> None:
    _rebuild_status_checks(STATUSES)
    op.create_table('withdrawal_return',
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('returned_fen', sa.BigInteger(), nullable=False),
    sa.Column('credited_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_reference', sa.String(length=128), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('credited_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('returned_fen > 0', name='ck_withdrawal_return_amount_positive'),
    sa.CheckConstraint('credited_fen >= 0', name='ck_withdrawal_return_credited_not_negative'),
    sa.CheckConstraint("state IN ('credited', 'parked')", name='ck_withdrawal_return_state'),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawal.id'], ),
    sa.PrimaryKeyConstraint('withdrawal_id')
    )
    op.create_index('ix_withdrawal_return_state', 'withdrawal_return', ['state'], unique=False)
    op.create_table('return_credit_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('reviewer_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name='ck_return_credit_approval_amount_positive'),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawal_return.withdrawal_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('withdrawal_id', 'reviewer_id', name='uq_return_credit_approval')
    )
    op.create_index('ix_return_credit_approval_withdrawal_id', 'return_credit_approval', ['withdrawal_id'], unique=False)


def downgrade() -> None:
    returned = op.get_bind().execute(sa.text('SELECT COUNT(*) FROM withdrawal_return')).scalar()
    if returned:
        # Dropping them would leave credited money without its record: refuse instead.
        raise RuntimeError(f'{returned} withdrawal returns recorded; not downgrading below 0010')
    op.drop_index('ix_return_credit_approval_withdrawal_id', table_name='return_credit_approval')
    op.drop_table('return_credit_approval')
    op.drop_index('ix_withdrawal_return_state', table_name='withdrawal_return')
    op.drop_table('withdrawal_return')
    _rebuild_status_checks(STATUSES_BEFORE)
