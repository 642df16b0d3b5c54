"""a shot's narration as a span of its video's body

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:10:00

The storyboard builder used to copy the narration each shot covers into `shots.narration`: with the video body
and the frames' scene text, every script was stored three times, and storing dominated ingesting. Shots now keep
where their narration lies in the body (`narration_start`, `narration_end`, character offsets) and read it from
there (`Shot.narration`); `shots.narration` stays for shots written by hand and for every shot stored before this
revision, which keeps its text and has no span. Nothing is rewritten, so upgrading is instant and loses nothing.
Downgrading copies each span's text back into `narration` first, then drops the two columns.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both backends (SQLite adds and, since 3.35, drops columns in place): no table copy.
    op.add_column('shots', sa.Column('narration_start', sa.Integer(), nullable=True))
    op.add_column('shots', sa.Column('narration_end', sa.Integer(), nullable=True))


def downgrade() -> None:
    shots = sa.table('shots', sa.column('id', sa.Integer()), sa.column('storyboard_id', sa.Integer()),
                     sa.column('narration', sa.Text()), sa.column('narration_start', sa.Integer()),
                     sa.column('narration_end', sa.Integer()))
    boards = sa.table('storyboards', sa.column('id', sa.Integer()), sa.column('video_id', sa.Integer()))
    videos = sa.table('videos', sa.column('id', sa.Integer()), sa.column('body', sa.Text()))
    text = (
        sa.select(sa.func.substr(videos.c.body, shots.c.narration_start + 1,
                                 shots.c.narration_end - shots.c.narration_start))
        .where(boards.c.id == shots.c.storyboard_id, videos.c.id == boards.c.video_id)
        .scalar_subquery()
    )
    op.execute(shots.update().where(shots.c.narration_end.is_not(None)).values(narration=text))
    op.drop_column('shots', 'narration_end')
    op.drop_column('shots', 'narration_start')
