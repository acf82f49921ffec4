"""Initial ledger schema: accounts, orders, holds, withdrawals, ledger entries, codes.

Types are spelled as the database sees them (``String``, ``DateTime(timezone=True)``),
not as the models wrap them, so this file never changes when model code does.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 02:51:27.979689
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('owner_name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('real_name_verified', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('identity_id', sa.String(length=64), nullable=False),
    sa.Column('security_phone', sa.String(length=32), nullable=False),
    sa.Column('master_account_id', sa.String(length=64), nullable=True),
    sa.Column('cash_fen', sa.BigInteger(), nullable=False),
    sa.Column('transfer_in_fen', sa.BigInteger(), nullable=False),
    sa.Column('owed_invoice_fen', sa.BigInteger(), nullable=False),
    sa.Column('overdue_fen', sa.BigInteger(), nullable=False),
    sa.Column('unsettled_fen', sa.BigInteger(), nullable=False),
    sa.Column('held_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("status IN ('normal', 'frozen', 'closed')", name='ck_account_status'),
    sa.CheckConstraint("type IN ('personal', 'enterprise')", name='ck_account_type'),
    sa.CheckConstraint('cash_fen >= 0', name='ck_account_cash_fen_not_negative'),
    sa.CheckConstraint('held_fen >= 0', name='ck_account_held_fen_not_negative'),
    sa.CheckConstraint('overdue_fen >= 0', name='ck_account_overdue_fen_not_negative'),
    sa.CheckConstraint('owed_invoice_fen >= 0', name='ck_account_owed_invoice_fen_not_negative'),
    sa.CheckConstraint('transfer_in_fen >= 0', name='ck_account_transfer_in_fen_not_negative'),
    sa.CheckConstraint('unsettled_fen >= 0', name='ck_account_unsettled_fen_not_negative'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_account_identity_id', 'account', ['identity_id'], unique=False)

    op.create_table('reviewer',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('verification_code',
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=256), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('send_count', sa.Integer(), nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.CheckConstraint('send_count >= 0', name='ck_verification_code_sends'),
    sa.PrimaryKeyConstraint('withdrawal_id')
    )
    op.create_table('withdrawal',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('designated_reason', sa.String(length=32), nullable=True),
    sa.Column('payee_json', sa.Text(), nullable=True),
    sa.Column('payee_masked', sa.String(length=32), nullable=True),
    sa.Column('proofs_json', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=True),
    sa.Column('review_required', sa.Boolean(), nullable=False),
    sa.Column('review_overdue', sa.Boolean(), nullable=False),
    sa.Column('provider_reference', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('recharge', 'non_recharge')", name='ck_withdrawal_kind'),
    sa.CheckConstraint("route IN ('original', 'alipay', 'bank')", name='ck_withdrawal_route'),
    sa.CheckConstraint("status IN ('verifying', 'awaiting_code', 'under_review', 'rejected', 'approved_awaiting_payout', 'succeeded', 'failed', 'cancelled')", name='ck_withdrawal_status'),
    sa.CheckConstraint('amount_fen > 0', name='ck_withdrawal_amount_positive'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_withdrawal_account_id', 'withdrawal', ['account_id'], unique=False)
    op.create_index('ix_withdrawal_created_at', 'withdrawal', ['created_at'], unique=False)
    op.create_index('ix_withdrawal_status', 'withdrawal', ['status'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('withdrawal_id', sa.String(length=64), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('balance_after_fen', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("direction IN ('debit', 'credit')", name='ck_ledger_entry_direction'),
    sa.CheckConstraint('amount_fen > 0', name='ck_ledger_entry_amount_positive'),
    sa.CheckConstraint('balance_after_fen >= 0', name='ck_ledger_entry_balance_not_negative'),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('withdrawal_id', 'type', name='uq_ledger_entry_withdrawal_type')
    )
    op.create_index('ix_ledger_entry_account_id', 'ledger_entry', ['account_id'], unique=False)
    op.create_index('ix_ledger_entry_at', 'ledger_entry', ['at'], unique=False)

    op.create_table('payg_resource',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_payg_resource_account_id', 'payg_resource', ['account_id'], unique=False)

    op.create_table('recharge_order',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('bank', sa.String(length=16), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_fen', sa.BigInteger(), nullable=False),
    sa.Column('held_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("channel IN ('alipay', 'online_banking_personal', 'online_banking_enterprise', 'bank_card')", name='ck_recharge_order_channel'),
    sa.CheckConstraint('amount_fen > 0', name='ck_recharge_order_amount_positive'),
    sa.CheckConstraint('held_fen >= 0', name='ck_recharge_order_held_fen_not_negative'),
    sa.CheckConstraint('withdrawn_fen + held_fen <= amount_fen', name='ck_recharge_order_not_overdrawn'),
    sa.CheckConstraint('withdrawn_fen >= 0', name='ck_recharge_order_withdrawn_fen_not_negative'),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_recharge_order_account_id', 'recharge_order', ['account_id'], unique=False)

    op.create_table('withdrawal_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('verifying', 'awaiting_code', 'under_review', 'rejected', 'approved_awaiting_payout', 'succeeded', 'failed', 'cancelled')", name='ck_withdrawal_event_status'),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_withdrawal_event_withdrawal_id', 'withdrawal_event', ['withdrawal_id'], unique=False)

    op.create_table('hold',
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('held', 'posted', 'voided')", name='ck_hold_state'),
    sa.CheckConstraint('amount_fen > 0', name='ck_hold_amount_positive'),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['recharge_order.id'], ),
    sa.PrimaryKeyConstraint('withdrawal_id')
    )
    op.create_index('ix_hold_account_id', 'hold', ['account_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_hold_account_id', table_name='hold')

    op.drop_table('hold')
    op.drop_index('ix_withdrawal_event_withdrawal_id', table_name='withdrawal_event')

    op.drop_table('withdrawal_event')
    op.drop_index('ix_recharge_order_account_id', table_name='recharge_order')

    op.drop_table('recharge_order')
    op.drop_index('ix_payg_resource_account_id', table_name='payg_resource')

    op.drop_table('payg_resource')
    op.drop_index('ix_ledger_entry_at', table_name='ledger_entry')
    op.drop_index('ix_ledger_entry_account_id', table_name='ledger_entry')

    op.drop_table('ledger_entry')
    op.drop_index('ix_withdrawal_status', table_name='withdrawal')
    op.drop_index('ix_withdrawal_created_at', table_name='withdrawal')
    op.drop_index('ix_withdrawal_account_id', table_name='withdrawal')

    op.drop_table('withdrawal')
    op.drop_table('verification_code')
    op.drop_table('reviewer')
    op.drop_index('ix_account_identity_id', table_name='account')

    op.drop_table('account')
