"""the cast and sets of a course, their reference images, and which a shot shows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 20:30:00

Three new tables, nothing rewritten: `cast_members` (presenter, characters and sets of a script's style bible),
`cast_images` (their reference images in the asset store, with the URL each was uploaded to once) and
`shot_cast` (the members a shot shows). Downgrading drops the three tables.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cast_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_file_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['source_file_id'], ['source_files.id'],
                                name=op.f('fk_cast_members_source_file_id_source_files')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cast_members')),
        sa.UniqueConstraint('source_file_id', 'name', name=op.f('uq_cast_members_source_file_id')),
    )
    op.create_index(op.f('ix_cast_members_source_file_id'), 'cast_members', ['source_file_id'])
    op.create_table(
        'cast_images',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.String(length=256), nullable=False),
        sa.Column('content_type', sa.String(length=64), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('is_reference', sa.Boolean(), nullable=False),
        sa.Column('locked', sa.Boolean(), nullable=False),
        sa.Column('remote_url', sa.Text(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['cast_members.id'], name=op.f('fk_cast_images_member_id_cast_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cast_images')),
    )
    op.create_index(op.f('ix_cast_images_member_id'), 'cast_images', ['member_id'])
    op.create_table(
        'shot_cast',
        sa.Column('shot_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['cast_members.id'], name=op.f('fk_shot_cast_member_id_cast_members')),
        sa.ForeignKeyConstraint(['shot_id'], ['shots.id'], name=op.f('fk_shot_cast_shot_id_shots')),
        sa.PrimaryKeyConstraint('shot_id', 'member_id', name=op.f('pk_shot_cast')),
    )
    op.create_index(op.f('ix_shot_cast_member_id'), 'shot_cast', ['member_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_shot_cast_member_id'), table_name='shot_cast')
    op.drop_table('shot_cast')
    op.drop_index(op.f('ix_cast_images_member_id'), table_name='cast_images')
    op.drop_table('cast_images')
    op.drop_index(op.f('ix_cast_members_source_file_id'), table_name='cast_members')
    op.drop_table('cast_members')
