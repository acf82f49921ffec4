"""HTTP API webhooks: the status-event outbox and its deliveries.

- ``webhook_event``: one row per status change (or flag change), written in the
  transaction that records it; ``body`` is the exact JSON every attempt posts;
- ``webhook_delivery``: one row per event and URL, with attempts and the last error.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_event',
    sa.Column('id', sa.String(length=96), nullable=False),
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('sequence > 0', name='ck_webhook_event_sequence_positive'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('withdrawal_id', 'sequence', name='uq_webhook_event_sequence')
    )
    op.create_index('ix_webhook_event_withdrawal_id', 'webhook_event', ['withdrawal_id'], unique=False)
    op.create_index('ix_webhook_event_dispatched_at', 'webhook_event', ['dispatched_at'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('event_id', sa.String(length=96), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'delivered', 'failed')", name='ck_webhook_delivery_state'),
    sa.CheckConstraint('attempts >= 0', name='ck_webhook_delivery_attempts'),
    sa.ForeignKeyConstraint(['event_id'], ['webhook_event.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'url')
    )
    op.create_index('ix_webhook_delivery_state', 'webhook_delivery', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_delivery_state', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_index('ix_webhook_event_dispatched_at', table_name='webhook_event')
    op.drop_index('ix_webhook_event_withdrawal_id', table_name='webhook_event')
    op.drop_table('webhook_event')
