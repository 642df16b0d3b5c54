"""Takes: every finished render is a new `Asset` row; a frame (or shot) points at the selected one.

The first take of a frame or shot is selected automatically; later takes (re-rolls) wait for the producer's
choice. Discarding is soft (`discarded_at`), so any take can be brought back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.errors import NotFoundError, ValidationError
from core.models import Asset, Frame, Job, Shot, Storyboard, Video, utcnow
from core.render.providers import RenderOutput


def source_file_of(session: Session, *, frame_id: int | None = None, shot_id: int | None = None) -> int | None:
    """The script a frame or shot belongs to, for the activity log."""
    if frame_id is not None:
        frame = session.get(Frame, frame_id)
        shot_id = frame.shot_id if frame else None
    shot = session.get(Shot, shot_id) if shot_id is not None else None
    board = session.get(Storyboard, shot.storyboard_id) if shot else None
    video = session.get(Video, board.video_id) if board else None
    return video.source_file_id if video else None


def record_take(session: Session, job: Job, output: RenderOutput, storage_key: str) -> Asset:
    """Add the asset of a finished job and select it when its frame / shot has no take selected yet."""
    info = output.info
    asset = Asset(
        kind=job.kind, frame_id=job.frame_id, shot_id=job.shot_id, job_id=job.id,
        prompt_version_id=job.prompt_version_id, sha256=storage_key.rsplit("/", 1)[-1].split(".")[0],
        storage_key=storage_key, content_type=info.content_type, size_bytes=info.size_bytes, width=info.width,
        height=info.height, duration_s=info.duration_s, provider=job.provider, model=job.model,
        input_hash=job.input_hash, remote_url=output.remote_url,
    )
    session.add(asset)
    session.flush()
    if job.kind == "image" and job.frame_id is not None:
        frame = session.get(Frame, job.frame_id)
        if frame is not None and frame.selected_image_id is None:
            frame.selected_image_id = asset.id
    elif job.kind == "clip" and job.shot_id is not None:
        shot = session.get(Shot, job.shot_id)
        if shot is not None and shot.selected_clip_id is None:
            shot.selected_clip_id = asset.id
    elif job.kind == "voice" and job.shot_id is not None:
        shot = session.get(Shot, job.shot_id)
        if shot is not None and _voice_take_replaces(session, shot, job):
            shot.selected_voice_id = asset.id
    elif (job.params or {}).get("cast_candidate"):  # a cast member's look, generated from its description
        from core.cast_candidates import record_candidate

        record_candidate(session, job, asset)
    return asset


def _voice_take_replaces(session: Session, shot: Shot, job: Job) -> bool:
    """A new narration take is selected when the shot has none, or when the selected one was spoken from other
    inputs (narration, voice, speed, lexicon): the cut must not keep saying the old words. A re-voice of the same
    inputs (a second take) waits for the producer's choice, as image re-rolls do."""
    if shot.selected_voice_id is None:
        return True
    current = session.get(Asset, shot.selected_voice_id)
    made_by = session.get(Job, current.job_id) if current is not None and current.job_id is not None else None
    old_hash = (made_by.params or {}).get("voice_hash") if made_by is not None else None
    return current is None or current.discarded_at is not None or old_hash != (job.params or {}).get("voice_hash")


def list_takes(session: Session, *, frame_id: int | None = None, shot_id: int | None = None,
               include_discarded: bool = False, kind: str = "clip") -> list[Asset]:
    """The takes of a frame (images) or a shot (clips, or narration audio with `kind="voice"`), newest first."""
    if (frame_id is None) == (shot_id is None):
        raise ValidationError("Give a frame or a shot")
    stmt = select(Asset).order_by(Asset.id.desc())
    stmt = stmt.where(Asset.frame_id == frame_id, Asset.kind == "image") if frame_id is not None else \
        stmt.where(Asset.shot_id == shot_id, Asset.kind == kind)
    if not include_discarded:
        stmt = stmt.where(Asset.discarded_at.is_(None))
    return list(session.scalars(stmt))


def select_take(session: Session, asset_id: int, *, actor: str) -> Asset:
    """Make this take the frame's image (or the shot's clip). Locked frames and shots refuse."""
    require("edit")
    from core.review import assert_frame_editable, assert_shot_editable

    asset = _asset(session, asset_id)
    if asset.discarded_at is not None:
        asset.discarded_at = None  # choosing a discarded take brings it back
    if asset.kind == "image" and asset.frame_id is not None:
        frame = session.get(Frame, asset.frame_id)
        assert frame is not None
        assert_frame_editable(frame)
        frame.selected_image_id = asset.id
    elif asset.kind == "clip" and asset.shot_id is not None:
        shot = session.get(Shot, asset.shot_id)
        assert shot is not None
        assert_shot_editable(shot)
        shot.selected_clip_id = asset.id
    elif asset.kind == "voice" and asset.shot_id is not None:
        shot = session.get(Shot, asset.shot_id)
        assert shot is not None
        assert_shot_editable(shot)
        shot.selected_voice_id = asset.id
    else:
        raise ValidationError(f"Take {asset_id} belongs to no frame or shot")
    log_activity(session, "take.selected", actor=actor, subject_type="frame" if asset.kind == "image" else "shot",
                 subject_id=asset.frame_id or asset.shot_id, asset_id=asset.id,
                 source_file_id=source_file_of(session, frame_id=asset.frame_id, shot_id=asset.shot_id))
    return asset


def discard_take(session: Session, asset_id: int, *, actor: str) -> Asset:
    """Hide a take (soft). If it was selected, the newest remaining take is selected instead (or none)."""
    require("edit")
    from core.review import assert_frame_editable, assert_shot_editable

    asset = _asset(session, asset_id)
    asset.discarded_at = utcnow()
    if asset.kind == "image" and asset.frame_id is not None:
        frame = session.get(Frame, asset.frame_id)
        if frame is not None and frame.selected_image_id == asset.id:
            assert_frame_editable(frame)
            session.flush()
            rest = list_takes(session, frame_id=frame.id)
            frame.selected_image_id = rest[0].id if rest else None
    elif asset.kind == "clip" and asset.shot_id is not None:
        shot = session.get(Shot, asset.shot_id)
        if shot is not None and shot.selected_clip_id == asset.id:
            assert_shot_editable(shot)
            session.flush()
            rest = list_takes(session, shot_id=shot.id)
            shot.selected_clip_id = rest[0].id if rest else None
    elif asset.kind == "voice" and asset.shot_id is not None:
        shot = session.get(Shot, asset.shot_id)
        if shot is not None and shot.selected_voice_id == asset.id:
            assert_shot_editable(shot)
            session.flush()
            rest = list_takes(session, shot_id=shot.id, kind="voice")
            shot.selected_voice_id = rest[0].id if rest else None
    log_activity(session, "take.discarded", actor=actor, subject_type="frame" if asset.kind == "image" else "shot",
                 subject_id=asset.frame_id or asset.shot_id, asset_id=asset.id,
                 source_file_id=source_file_of(session, frame_id=asset.frame_id, shot_id=asset.shot_id))
    return asset


def restore_take(session: Session, asset_id: int, *, actor: str) -> Asset:
    """Bring a discarded take back into the picker. If its frame (or shot) has no take selected any more, the
    restored one is selected, so undoing "discard" on the only take gives the frame its image back."""
    require("edit")
    from core.review import assert_frame_editable, assert_shot_editable

    asset = _asset(session, asset_id)
    if asset.discarded_at is None:
        return asset
    asset.discarded_at = None
    selected = False
    if asset.kind == "image" and asset.frame_id is not None:
        frame = session.get(Frame, asset.frame_id)
        if frame is not None and frame.selected_image_id is None:
            assert_frame_editable(frame)
            frame.selected_image_id, selected = asset.id, True
    elif asset.kind == "clip" and asset.shot_id is not None:
        shot = session.get(Shot, asset.shot_id)
        if shot is not None and shot.selected_clip_id is None:
            assert_shot_editable(shot)
            shot.selected_clip_id, selected = asset.id, True
    elif asset.kind == "voice" and asset.shot_id is not None:
        shot = session.get(Shot, asset.shot_id)
        if shot is not None and shot.selected_voice_id is None:
            assert_shot_editable(shot)
            shot.selected_voice_id, selected = asset.id, True
    log_activity(session, "take.restored", actor=actor, subject_type="frame" if asset.kind == "image" else "shot",
                 subject_id=asset.frame_id or asset.shot_id, asset_id=asset.id, selected=selected,
                 source_file_id=source_file_of(session, frame_id=asset.frame_id, shot_id=asset.shot_id))
    session.flush()
    return asset


def _asset(session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(f"Take {asset_id} does not exist")
    return asset
