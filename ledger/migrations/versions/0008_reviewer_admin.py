"""Reviewer administration (issue 26): ``reviewer`` gains ``enabled`` (every reviewer
that exists stays enabled) and ``password_changed_at`` (none set yet).

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends (SQLite takes a constant default).
    op.add_column(
        'reviewer', sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column(
        'reviewer', sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table('reviewer') as batch:
        batch.drop_column('password_changed_at')
        batch.drop_column('enabled')
