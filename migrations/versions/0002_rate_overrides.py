"""rate overrides in the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:15:00

The rate card's overrides moved from `<data dir>/rate_card.json` into the `rate_overrides` table, so studios
and workers on different data dirs that share one database price jobs alike. A legacy file is imported by
`core.cost.import_legacy_rate_card` when a runtime opens (the migration cannot know the data dir).
Downgrading drops the table: overrides edited since the upgrade are lost, every other table is untouched.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_overrides',
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('credits', sa.Float(), nullable=False),
    sa.Column('usd', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('model', name=op.f('pk_rate_overrides'))
    )


def downgrade() -> None:
    op.drop_table('rate_overrides')
