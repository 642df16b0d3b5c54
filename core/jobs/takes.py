"""Takes: every finished render is a new `Asset` row; a frame (or shot) points at the selected one.

A new take becomes the selected one as it arrives, so the board shows what was just rendered (a re-roll the board
kept hiding behind the old image was the complaint); the previous take stays in Takes, one click to bring back.
Two exceptions keep the producer's choice: a locked frame or shot never moves, and an image rendered from a prompt
version that is no longer the frame's selected one (an old request finishing late) only joins the list.
Discarding is soft (`discarded_at`), so any take can be brought back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import approvals
from core.activity import log_activity
from core.authz import require
from core.errors import NotFoundError, ValidationError
from core.models import Asset, Frame, Job, Shot, Storyboard, Video, utcnow
from core.render.providers import RenderOutput
from core.voice.style import job_voice_hash


def source_file_of(session: Session, *, frame_id: int | None = None, shot_id: int | None = None) -> int | None:
    """The script a frame or shot belongs to, for the activity log."""
    if frame_id is not None:
        frame = session.get(Frame, frame_id)
        shot_id = frame.shot_id if frame else None
    shot = session.get(Shot, shot_id) if shot_id is not None else None
    board = session.get(Storyboard, shot.storyboard_id) if shot else None
    video = session.get(Video, board.video_id) if board else None
    return video.source_file_id if video else None


def selects_new_take(*, selected_id: int | None, locked: bool, rendered_from: int | None = None,
                     selected_prompt: int | None = None) -> bool:
    """Whether a finished take replaces the selected one: always when nothing is selected; never on a locked
    subject; otherwise when it was rendered from the prompt the frame shows now (`rendered_from` None: a clip)."""
    if selected_id is None:
        return True
    if locked:
        return False
    return rendered_from is None or rendered_from == selected_prompt


def record_take(session: Session, job: Job, output: RenderOutput, storage_key: str) -> Asset:
    """Add the asset of a finished job and select it per `selects_new_take`; replacing a selected take is logged
    under whoever asked for the render."""
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
    replaced: int | None = None
    if job.kind == "image" and job.frame_id is not None:
        frame = session.get(Frame, job.frame_id)
        if frame is not None and selects_new_take(
                selected_id=frame.selected_image_id, locked=frame.review_status == "locked",
                rendered_from=job.prompt_version_id or frame.selected_prompt_id,
                selected_prompt=frame.selected_prompt_id):
            replaced, frame.selected_image_id = frame.selected_image_id, asset.id
            approvals.take_arrived(session, frame, actor=job.requested_by)
    elif job.kind == "clip" and job.shot_id is not None:
        shot = session.get(Shot, job.shot_id)
        if shot is not None and selects_new_take(selected_id=shot.selected_clip_id,
                                                 locked=shot.review_status == "locked"):
            replaced, shot.selected_clip_id = shot.selected_clip_id, asset.id
            approvals.take_arrived(session, shot, actor=job.requested_by)
    elif job.kind == "voice" and job.shot_id is not None:
        # Narration is not part of what a shot's approval records (its frames and clip), so a new take changes no
        # approval; a locked shot keeps the audio it has, as it keeps its clip.
        shot = session.get(Shot, job.shot_id)
        if (shot is not None and selects_new_take(selected_id=shot.selected_voice_id,
                                                  locked=shot.review_status == "locked")
                and _voice_take_replaces(session, shot, job)):
            replaced, shot.selected_voice_id = shot.selected_voice_id, asset.id
    elif (job.params or {}).get("cast_candidate"):  # a cast member's look, generated from its description
        from core.cast_candidates import record_candidate

        record_candidate(session, job, asset)
    if replaced is not None:
        log_activity(session, "take.selected", actor=job.requested_by,
                     subject_type="frame" if job.kind == "image" else "shot",
                     subject_id=job.frame_id or job.shot_id, asset_id=asset.id, previous=replaced, new_take=True,
                     source_file_id=source_file_of(session, frame_id=job.frame_id, shot_id=job.shot_id))
    return asset


def _voice_take_replaces(session: Session, shot: Shot, job: Job) -> bool:
    """A new narration take is selected when the shot has none, or when the selected one says other words or is
    said by another provider, model, voice or speed (`core.voice.style.voice_hash`, from what each job spoke):
    the cut must not keep the old words, nor an offline take once a paid one arrives. A re-voice of the same
    inputs (a second take) waits for the producer's choice, as image re-rolls do."""
    if shot.selected_voice_id is None:
        return True
    current = session.get(Asset, shot.selected_voice_id)
    made_by = session.get(Job, current.job_id) if current is not None and current.job_id is not None else None
    if current is None or current.discarded_at is not None or made_by is None:
        return True
    return job_voice_hash(made_by.provider, made_by.model, made_by.params, made_by.prompt_text) != \
        job_voice_hash(job.provider, job.model, job.params, job.prompt_text)


def bring_back_voice_take(session: Session, shot: Shot, job: Job, *, actor: str = "") -> Asset | None:
    """When a voice request reuses a finished job (the same words in the same voice were voiced before), its take
    becomes the shot's again if the selected one says something else or is said otherwise: switching the course
    back to a voice it had, or undoing a narration or lexicon edit, brings back that take for free instead of
    leaving a stale take that "Voice all" can no longer replace. A locked shot keeps its take."""
    if shot.review_status == "locked" or job.kind != "voice" or job.status != "succeeded":
        return None
    take = session.scalar(select(Asset).where(Asset.job_id == job.id, Asset.kind == "voice",
                                              Asset.discarded_at.is_(None)).order_by(Asset.id.desc()).limit(1))
    if take is None or take.id == shot.selected_voice_id or not _voice_take_replaces(session, shot, job):
        return None
    previous, shot.selected_voice_id = shot.selected_voice_id, take.id
    log_activity(session, "take.selected", actor=actor or job.requested_by, subject_type="shot", subject_id=shot.id,
                 asset_id=take.id, previous=previous, reused=True,
                 source_file_id=source_file_of(session, shot_id=shot.id))
    return take


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
    _note(session, asset, actor=actor, cause="take selected")
    return asset


def _note(session: Session, asset: Asset, *, actor: str, cause: str) -> None:
    """Tell the activity log when choosing a take changed what a frame or shot was approved with."""
    if asset.kind == "image" and asset.frame_id is not None:
        approvals.note_changes(session, [asset.frame_id], actor=actor, cause=cause)
    elif asset.shot_id is not None:
        approvals.note_shot_changes(session, [asset.shot_id], actor=actor, cause=cause)


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
    _note(session, asset, actor=actor, cause="take discarded")
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
    if selected:
        _note(session, asset, actor=actor, cause="take restored")
    session.flush()
    return asset


def _asset(session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(f"Take {asset_id} does not exist")
    return asset
