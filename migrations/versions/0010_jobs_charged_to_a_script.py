"""a job names the script it is charged to

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:00:00

Renders that belong to no frame or shot — cast candidates, clips from explicit images — were charged to nobody,
so they escaped the script's spend and budget. `jobs.source_file_id` names the script a job is charged to (set on
every new job; older jobs are still found through their frame or shot). A plain indexed integer, no foreign key,
so upgrading is one ADD COLUMN on SQLite and PostgreSQL alike. Downgrading drops it (candidate and explicit-clip
jobs are then charged to nobody again, as before).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('source_file_id', sa.Integer(), nullable=True))
    op.create_index('ix_jobs_source_file_id', 'jobs', ['source_file_id'])


def downgrade() -> None:
    op.drop_index('ix_jobs_source_file_id', table_name='jobs')
    op.drop_column('jobs', 'source_file_id')
