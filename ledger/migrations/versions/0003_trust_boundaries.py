"""Trust boundaries: reviewer passwords and lockout, spent proof nonces, callback ids.

- ``reviewer``: ``password_hash`` (scrypt), ``identity_id`` (R17 same real name),
  ``failed_logins`` and ``locked_until`` (five failures lock for 15 minutes);
- ``spent_proof_nonce``: each signed decision proof counts once;
- ``callback_receipt``: payout callbacks' ``webhook-id``s, so a replay is refused.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reviewer') as batch:
        batch.add_column(sa.Column('password_hash', sa.String(length=256), nullable=True))
        batch.add_column(sa.Column('identity_id', sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0')
        )
        batch.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))

    op.create_table('spent_proof_nonce',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('reviewer_id', sa.String(length=64), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('spent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce')
    )

    op.create_table('callback_receipt',
    sa.Column('webhook_id', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('webhook_id')
    )
    op.create_index(
        'ix_callback_receipt_received_at', 'callback_receipt', ['received_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_callback_receipt_received_at', table_name='callback_receipt')
    op.drop_table('callback_receipt')
    op.drop_table('spent_proof_nonce')
    with op.batch_alter_table('reviewer') as batch:
        batch.drop_column('locked_until')
        batch.drop_column('failed_logins')
        batch.drop_column('identity_id')
        batch.drop_column('password_hash')
