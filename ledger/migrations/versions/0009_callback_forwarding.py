"""Payout callbacks forwarded per withdrawal (issue 22): ``callback_forwarding`` counts
the callbacks the receiver signalled to each withdrawal's workflow and those it held
back past the limit, so a flood of signed callbacks cannot grow a history without bound.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callback_forwarding',
    sa.Column('withdrawal_id', sa.String(length=64), nullable=False),
    sa.Column('forwarded', sa.Integer(), nullable=False),
    sa.Column('held_back', sa.Integer(), nullable=False),
    sa.CheckConstraint('forwarded >= 0', name='ck_callback_forwarding_forwarded'),
    sa.CheckConstraint('held_back >= 0', name='ck_callback_forwarding_held_back'),
    sa.PrimaryKeyConstraint('withdrawal_id')
    )


def downgrade() -> None:
    op.drop_table('callback_forwarding')
