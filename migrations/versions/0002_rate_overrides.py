"""rate overrides in the database; the cross-pointer foreign keys 0001 missed on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:15:00

- The rate card's overrides moved from `<data dir>/rate_card.json` into the `rate_overrides` table, so studios
  and workers on different data dirs that share one database price jobs alike. A legacy file is imported by
  `core.cost.import_legacy_rate_card` when a runtime opens (a migration cannot know the data dir).
- 0001 declared the cycle-closing foreign keys (frames.selected_prompt_id / selected_image_id,
  shots.selected_clip_id) with `use_alter`, inline in CREATE TABLE: SQLite got them, PostgreSQL silently did
  not. They are added here where missing; a pointer to a row that does not exist (only possible without the
  key) is cleared first, since it could never be followed.
Downgrading drops `rate_overrides` (overrides edited since the upgrade are lost) and the keys this revision
added; every other table and row is untouched.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# (table, column, referred table, constraint name as the models name it)
CROSS_POINTERS = (
    ('frames', 'selected_prompt_id', 'prompt_versions', 'fk_frames_selected_prompt_id_prompt_versions'),
    ('frames', 'selected_image_id', 'assets', 'fk_frames_selected_image_id_assets'),
    ('shots', 'selected_clip_id', 'assets', 'fk_shots_selected_clip_id_assets'),
)


def _missing_pointer_keys() -> list[tuple[str, str, str, str]]:
    inspector = sa.inspect(op.get_bind())
    missing = []
    for table, column, referred, name in CROSS_POINTERS:
        present = {fk['name'] for fk in inspector.get_foreign_keys(table)}
        if name not in present:
            missing.append((table, column, referred, name))
    return missing


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
    if op.get_bind().dialect.name == 'sqlite':
        return  # SQLite created these keys in 0001 (and could only add them by rebuilding the tables)
    for table, column, referred, name in _missing_pointer_keys():
        op.execute(
            f'UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL '
            f'AND NOT EXISTS (SELECT 1 FROM {referred} WHERE {referred}.id = {table}.{column})'
        )
        op.create_foreign_key(name, table, referred, [column], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        for table, _column, _referred, name in CROSS_POINTERS:
            op.drop_constraint(name, table, type_='foreignkey')
    op.drop_table('rate_overrides')
