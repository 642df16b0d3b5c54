"""a shot can show nobody: no presenter by default, no reference images

Revision ID: 0009
Revises: 0006 on this branch (0008 once 0007 and 0008 are merged)
Create Date: 2026-12-03 08:50:00

One column with a default, so upgrading is instant: `shots.shows_nobody` marks a shot the producer chose to show
no cast member or set (a close-up of a book, a diagram), so it neither defaults to the course presenter nor sends
any reference image. Downgrading drops the column (those shots show the presenter again).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0006'  # set to '0008' at merge, after the 0007 (voice) and 0008 (approvals) helpers
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('shots', sa.Column('shows_nobody', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('shots', 'shows_nobody')
