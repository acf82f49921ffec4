"""Money at the edges: payout_unknown, stored open answers, payout resolutions, openings.

- ``withdrawal.payout_unknown``: a payout whose outcome is unknown, parked for ops;
- ``withdrawal.opened_json``: the first answer of ``open_withdrawal``, returned again to
  a retried open so it never refuses a withdrawal whose money is already frozen;
- ``payout_resolution``: ``resolve-payout`` decisions (who, what, evidence);
- an ``opening`` ledger entry for every existing account, so the ledger owns the cash
  figure: opening = today's cash plus what withdrawals already debited.

Revision ID: 0004
Revises: 0007
Create Date: 2026-11-29 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('withdrawal') as batch:
        batch.add_column(
            sa.Column('payout_unknown', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column('opened_json', sa.Text(), nullable=True))
    op.create_index('ix_withdrawal_payout_unknown', 'withdrawal', ['payout_unknown'], unique=False)

    op.create_table('payout_resolution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('reviewer_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('paid', 'not_paid')", name='ck_payout_resolution_outcome'),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawal.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('withdrawal_id', 'reviewer_id', 'outcome', name='uq_payout_resolution_reviewer')
    )
    op.create_index('ix_payout_resolution_withdrawal_id', 'payout_resolution', ['withdrawal_id'], unique=False)

    # Opening entries for accounts loaded before the ledger owned the figure.
    connection = op.get_bind()
    now = datetime.now(UTC)
    accounts = connection.execute(sa.text('SELECT id, cash_fen FROM account')).fetchall()
    for account_id, cash_fen in accounts:
        debited = connection.execute(
            sa.text(
                "SELECT COALESCE(SUM(amount_fen), 0) FROM ledger_entry"
                " WHERE account_id = :a AND type = 'withdrawal'"
            ),
            {'a': account_id},
        ).scalar_one()
        opening = int(cash_fen) + int(debited)
        if opening <= 0:
            continue  # an entry is never zero (ck_ledger_entry_amount_positive)
        connection.execute(
            sa.text(
                'INSERT INTO ledger_entry (account_id, withdrawal_id, type, direction,'
                ' amount_fen, balance_after_fen, at, note)'
                " VALUES (:a, NULL, 'opening', 'credit', :amount, :amount, :at,"
                " 'opening balance (written by migration 0004)')"
            ),
            {'a': account_id, 'amount': opening, 'at': now},
        )


def downgrade() -> None:
    op.execute("DELETE FROM ledger_entry WHERE type IN ('opening', 'adjustment')")
    op.drop_index('ix_payout_resolution_withdrawal_id', table_name='payout_resolution')
    op.drop_table('payout_resolution')
    op.drop_index('ix_withdrawal_payout_unknown', table_name='withdrawal')
    with op.batch_alter_table('withdrawal') as batch:
        batch.drop_column('opened_json')
        batch.drop_column('payout_unknown')
