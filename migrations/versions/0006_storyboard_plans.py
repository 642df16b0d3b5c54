"""storyboards that fit the script: directions kept, shots planned, frames as keyframes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:10:00

Columns only, every one with a default, so upgrading is instant and old storyboard versions stay readable as
they were. Videos keep the visual directions and scene marks ingestion told apart from the narration; a source
file keeps the producer's corrections of that reading (a flipped table, a line marked as narration or direction)
and whether its shots are chained. A storyboard records how it was made (density, pace, planner, model,
template, a hash of the planner's inputs so an unchanged plan is reused, and a note shown to the producer). A
shot records the plan's shot size, camera move, subject, action, location, on-screen text, motion prompt, the
directions of its stretch of the script, its scene and whether it breaks the chain. A frame records the beat of
narration it illustrates. Downgrading drops the columns.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_COLUMNS: dict[str, list[sa.Column]] = {
    'source_files': [
        sa.Column('ingest_overrides', sa.JSON(), nullable=False, server_default='{}'),
        sa.Column('chain_shots', sa.Boolean(), nullable=False, server_default=sa.false()),
    ],
    'videos': [
        sa.Column('directions', sa.JSON(), nullable=False, server_default='[]'),
        sa.Column('scenes', sa.JSON(), nullable=False, server_default='[]'),
    ],
    'storyboards': [
        sa.Column('density', sa.String(length=16), nullable=False, server_default='fixed'),
        sa.Column('pace_s', sa.Float(), nullable=True),
        sa.Column('planner', sa.String(length=32), nullable=False, server_default='offline'),
        sa.Column('planner_model', sa.String(length=128), nullable=False, server_default=''),
        sa.Column('template_version', sa.String(length=32), nullable=False, server_default=''),
        sa.Column('plan_input_hash', sa.String(length=64), nullable=False, server_default=''),
        sa.Column('note', sa.Text(), nullable=False, server_default=''),
    ],
    'shots': [
        sa.Column('directions', sa.JSON(), nullable=False, server_default='[]'),
        sa.Column('scene', sa.Integer(), nullable=True),
        sa.Column('shot_size', sa.String(length=32), nullable=False, server_default=''),
        sa.Column('camera_move', sa.String(length=32), nullable=False, server_default=''),
        sa.Column('subject', sa.Text(), nullable=False, server_default=''),
        sa.Column('action', sa.Text(), nullable=False, server_default=''),
        sa.Column('location', sa.Text(), nullable=False, server_default=''),
        sa.Column('on_screen_text', sa.Text(), nullable=False, server_default=''),
        sa.Column('motion_prompt', sa.Text(), nullable=False, server_default=''),
        sa.Column('chain_break', sa.Boolean(), nullable=False, server_default=sa.false()),
    ],
    'frames': [
        sa.Column('beat', sa.Text(), nullable=False, server_default=''),
    ],
}


def upgrade() -> None:
    # Plain ALTER TABLE on both backends (SQLite adds and, since 3.35, drops columns in place): no table copy,
    # which on SQLite would trip the foreign keys that point at these tables.
    for table, columns in _COLUMNS.items():
        for column in columns:
            op.add_column(table, column.copy())


def downgrade() -> None:
    for table, columns in reversed(list(_COLUMNS.items())):
        for column in reversed(columns):
            op.drop_column(table, column.name)
