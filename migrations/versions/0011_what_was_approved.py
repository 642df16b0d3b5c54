"""what was approved: a fingerprint stored with each approval, so a change sends it back to review

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:20:00

`frames.approval` and `shots.approval` (JSON, empty until approved) hold the parts a reviewer approved (scene text,
beat, prompt, image; a shot's frames and clip), hashed by `core.approvals`. Frames and shots already approved or
locked are stamped with what they show now, so they stay approved and any later change reads "changed since
approved". Downgrading drops the columns (approvals then mean only the stored status again).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

APPROVED = ('approved', 'locked')


def upgrade() -> None:
    op.add_column('frames', sa.Column('approval', sa.JSON(), nullable=True))
    op.add_column('shots', sa.Column('approval', sa.JSON(), nullable=True))
    _stamp_existing()


def _stamp_existing() -> None:
    # The rule is core's (one place); it is pure over values, so the migration hands it the rows it reads.
    from core.approvals import frame_parts, shot_parts

    bind = op.get_bind()
    meta = sa.MetaData()
    frames = sa.Table('frames', meta, autoload_with=bind)
    shots = sa.Table('shots', meta, autoload_with=bind)
    prompts = sa.Table('prompt_versions', meta, autoload_with=bind)
    assets = sa.Table('assets', meta, autoload_with=bind)
    clips = assets.alias('clip_assets')
    rows = bind.execute(
        sa.select(frames.c.id, frames.c.shot_id, frames.c.review_status, frames.c.deleted_at, frames.c.scene_text,
                  frames.c.beat, prompts.c.text, prompts.c.negative_prompt, assets.c.sha256)
        .select_from(frames.outerjoin(prompts, prompts.c.id == frames.c.selected_prompt_id)
                     .outerjoin(assets, assets.c.id == frames.c.selected_image_id))
        .order_by(frames.c.shot_id, frames.c.position, frames.c.id)).all()
    by_shot: dict[int, list[dict[str, str]]] = {}
    stamp = {'by': 'migration 0011', 'at': None}
    for r in rows:
        parts = frame_parts(scene_text=r.scene_text, beat=r.beat, prompt_text=r.text, negative_prompt=r.negative_prompt,
                            image_sha=r.sha256)
        if r.deleted_at is None:
            by_shot.setdefault(r.shot_id, []).append(parts)
        if r.review_status in APPROVED:
            bind.execute(frames.update().where(frames.c.id == r.id).values(approval={'parts': parts, **stamp}))
    for s in bind.execute(sa.select(shots.c.id, clips.c.sha256)
                          .select_from(shots.outerjoin(clips, clips.c.id == shots.c.selected_clip_id))
                          .where(shots.c.review_status.in_(APPROVED))).all():
        bind.execute(shots.update().where(shots.c.id == s.id)
                     .values(approval={'parts': shot_parts(by_shot.get(s.id, []), s.sha256), **stamp}))


def downgrade() -> None:
    op.drop_column('shots', 'approval')
    op.drop_column('frames', 'approval')
