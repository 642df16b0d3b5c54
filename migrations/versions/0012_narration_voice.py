"""narration voice: a shot's selected voice take, and the course's voice in its style bible

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:50:00

Columns with defaults, so upgrading keeps every row as it was: `shots.selected_voice_id` points at the narration
audio take the cut uses (an `assets` row of kind "voice"); `style_bibles.voice_*` hold the course's voice (which
provider, which voice, its speed, and the pronunciation lexicon applied before synthesis). Downgrading drops them
(the audio assets stay, unselected).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('style_bibles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voice_provider', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('voice_name', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('voice_speed', sa.Float(), nullable=False, server_default=sa.text('1.0')))
        batch_op.add_column(sa.Column('voice_lexicon', sa.JSON(), nullable=False, server_default='{}'))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its REFERENCES clause in place; a batch copy of `shots` would have to drop the
        # table that frames and assets point at (refused with foreign keys on).
        op.execute("ALTER TABLE shots ADD COLUMN selected_voice_id INTEGER "
                   "CONSTRAINT fk_shots_selected_voice_id_assets REFERENCES assets (id)")
    else:
        op.add_column('shots', sa.Column('selected_voice_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_shots_selected_voice_id_assets', 'shots', 'assets', ['selected_voice_id'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_column('shots', 'selected_voice_id')  # SQLite 3.35+ drops a column with its REFERENCES in place
    else:
        op.drop_constraint('fk_shots_selected_voice_id_assets', 'shots', type_='foreignkey')
        op.drop_column('shots', 'selected_voice_id')
    with op.batch_alter_table('style_bibles', schema=None) as batch_op:
        batch_op.drop_column('voice_lexicon')
        batch_op.drop_column('voice_speed')
        batch_op.drop_column('voice_name')
        batch_op.drop_column('voice_provider')
