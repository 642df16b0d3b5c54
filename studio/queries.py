"""Read-only queries the pages need and `core` does not (yet) offer. Nothing here writes.

Candidates to move into `core` are marked `# core?`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, Subquery, and_, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from core.models import (
    Asset,
    Frame,
    Job,
    PromptVersion,
    Shot,
    SourceFile,
    Storyboard,
    Video,
)


@dataclass(frozen=True)
class Option:
    id: int
    label: str


def script_options(session: Session) -> list[Option]:
    """Active (not archived) scripts, newest first, for the sidebar picker."""
    rows = session.execute(
        select(SourceFile.id, SourceFile.title, SourceFile.original_name)
        .where(SourceFile.archived_at.is_(None)).order_by(SourceFile.created_at.desc())
    )
    return [Option(fid, title or name) for fid, title, name in rows]


def video_options(session: Session, file_id: int) -> list[Option]:
    # Only the label columns: every page run draws the picker, and a video's body is the long narration.
    rows = session.execute(select(Video.id, Video.number, Video.title)
                           .where(Video.source_file_id == file_id).order_by(Video.position))
    return [Option(vid, f"{number}. \u2068{title}\u2069") for vid, number, title in rows]


@dataclass(frozen=True)
class BoardHeader:
    storyboard_id: int
    version: int
    is_current: bool
    video_id: int
    video_number: int
    video_title: str
    video_body: str


def board_header(session: Session, storyboard_id: int) -> BoardHeader | None:
    row = session.execute(
        select(Storyboard.id, Storyboard.version, Storyboard.is_current, Video.id, Video.number, Video.title,
               Video.body)
        .join(Video, Video.id == Storyboard.video_id).where(Storyboard.id == storyboard_id)
    ).first()
    return BoardHeader(*row) if row is not None else None


def _newest_job_per(owner: InstrumentedAttribute[int | None], kind: str, owners: Select[tuple[int]]) -> Subquery:
    """(owner, job_id) of the newest job of `kind` per frame or shot among `owners`: what a status chip shows."""
    return (select(owner.label("owner"), func.max(Job.id).label("job_id"))
            .where(Job.kind == kind, owner.in_(owners)).group_by(owner).subquery())


def board_grid(session: Session, storyboard_id: int) -> list[Row[Any]]:
    """One row per live frame of a storyboard version (one row with frame columns None for a shot without live
    frames), in shot then frame order, with everything the pages draw: the shot, its selected clip's key and newest
    clip job; the frame, its selected prompt's text, its selected image's key and newest image job.

    One query, whatever the size of the board (reading it through the ORM relationships cost a query per shot)."""
    return list(session.execute(_board_grid_statement(), {"storyboard_id": storyboard_id}))


@cache
def _board_grid_statement() -> Select[Any]:
    # Built once: constructing it (four aliases, two subqueries, 22 labelled columns) cost more than running it,
    # on every Storyboard, Images and Clips run.
    storyboard_id = bindparam("storyboard_id")
    image_asset, clip_asset, image_job, clip_job = aliased(Asset), aliased(Asset), aliased(Job), aliased(Job)
    board_shots = select(Shot.id).where(Shot.storyboard_id == storyboard_id)
    board_frames = select(Frame.id).join(Shot, Shot.id == Frame.shot_id).where(Shot.storyboard_id == storyboard_id)
    last_image = _newest_job_per(Job.frame_id, "image", board_frames)
    last_clip = _newest_job_per(Job.shot_id, "clip", board_shots)
    stmt = (
        select(
            Shot.id.label("shot_id"), Shot.position.label("shot_position"), Shot.summary, Shot.narration,
            Shot.review_status.label("shot_review_status"), Shot.lock_version.label("shot_lock_version"),
            Shot.selected_clip_id, clip_asset.storage_key.label("clip_key"),
            clip_job.status.label("clip_job_status"), clip_job.error.label("clip_job_error"),
            Frame.id.label("frame_id"), Frame.position.label("frame_position"), Frame.scene_text,
            Frame.lock_version.label("frame_lock_version"), Frame.review_status.label("frame_review_status"),
            Frame.selected_prompt_id, PromptVersion.text.label("prompt_text"),
            Frame.selected_image_id, image_asset.storage_key.label("image_key"),
            image_job.status.label("image_job_status"), image_job.error.label("image_job_error"),
            image_job.error_category.label("image_job_category"),
        )
        .select_from(Shot)
        .outerjoin(Frame, and_(Frame.shot_id == Shot.id, Frame.deleted_at.is_(None)))
        .outerjoin(PromptVersion, PromptVersion.id == Frame.selected_prompt_id)
        .outerjoin(image_asset, image_asset.id == Frame.selected_image_id)
        .outerjoin(last_image, last_image.c.owner == Frame.id)
        .outerjoin(image_job, image_job.id == last_image.c.job_id)
        .outerjoin(clip_asset, clip_asset.id == Shot.selected_clip_id)
        .outerjoin(last_clip, last_clip.c.owner == Shot.id)
        .outerjoin(clip_job, clip_job.id == last_clip.c.job_id)
        .where(Shot.storyboard_id == storyboard_id, Shot.deleted_at.is_(None))
        .order_by(Shot.position, Shot.id, Frame.position, Frame.id)
    )
    return stmt


@dataclass(frozen=True)
class Take:
    id: int
    frame_id: int
    storage_key: str
    discarded: bool


def takes_by_frame(session: Session, frame_ids: list[int]) -> dict[int, list[Take]]:  # core?
    """Every image take (discarded ones too) of these frames, newest first per frame: one query for a gallery
    instead of one per frame."""
    if not frame_ids:
        return {}
    rows = session.execute(
        select(Asset.id, Asset.frame_id, Asset.storage_key, Asset.discarded_at)
        .where(Asset.kind == "image", Asset.frame_id.in_(frame_ids)).order_by(Asset.id.desc())
    )
    out: dict[int, list[Take]] = {fid: [] for fid in frame_ids}
    for aid, fid, key, discarded_at in rows:
        out[fid].append(Take(aid, fid, key, discarded_at is not None))
    return out


def job_fingerprint(session: Session, *, frame_ids: list[int] | None = None,
                    shot_ids: list[int] | None = None) -> tuple[object, ...]:
    """A cheap summary of job state (per status: count, newest id, attempts) for some frames/shots, or all
    jobs when neither is given: it changes whenever one of those jobs moves."""
    from sqlalchemy import or_

    stmt = select(Job.status, func.count(Job.id), func.max(Job.id), func.sum(Job.attempts)).group_by(Job.status)
    if frame_ids is not None or shot_ids is not None:
        conds = []
        if frame_ids:
            conds.append(Job.frame_id.in_(frame_ids))
        if shot_ids:
            conds.append(Job.shot_id.in_(shot_ids))
        if not conds:
            return ()
        stmt = stmt.where(or_(*conds))
    rows = session.execute(stmt).all()
    return tuple(sorted((str(s), int(n), int(m or 0), int(a or 0)) for s, n, m, a in rows))


@dataclass(frozen=True)
class Progress:
    frames: int = 0
    prompted: int = 0
    imaged: int = 0
    shots: int = 0
    clipped: int = 0


def progress_by_video(session: Session, file_id: int) -> dict[int, Progress]:  # core?
    """Per video of a script (current storyboard): frames with a prompt / an image, shots with a clip."""
    frame_rows = session.execute(
        select(
            Storyboard.video_id,
            func.count(Frame.id),
            func.count(Frame.selected_prompt_id),
            func.count(Frame.selected_image_id),
        )
        .join(Shot, Shot.storyboard_id == Storyboard.id)
        .join(Frame, Frame.shot_id == Shot.id)
        .join(Video, Video.id == Storyboard.video_id)
        .where(Video.source_file_id == file_id, Storyboard.is_current.is_(True),
               Shot.deleted_at.is_(None), Frame.deleted_at.is_(None))
        .group_by(Storyboard.video_id)
    ).all()
    shot_rows = session.execute(
        select(Storyboard.video_id, func.count(Shot.id), func.count(Shot.selected_clip_id))
        .join(Shot, Shot.storyboard_id == Storyboard.id)
        .join(Video, Video.id == Storyboard.video_id)
        .where(Video.source_file_id == file_id, Storyboard.is_current.is_(True), Shot.deleted_at.is_(None))
        .group_by(Storyboard.video_id)
    ).all()
    shots = {vid: (int(n), int(c)) for vid, n, c in shot_rows}
    out: dict[int, Progress] = {}
    for vid, n, p, i in frame_rows:
        s, c = shots.get(vid, (0, 0))
        out[vid] = Progress(frames=int(n), prompted=int(p), imaged=int(i), shots=s, clipped=c)
    return out



def script_warnings(session: Session, file_ids: list[int]) -> dict[int, list[str]]:  # core?
    """What ingestion warned about, per script (kept on the script: "no video headers, treated as one video")."""
    if not file_ids:
        return {}
    rows = session.execute(select(SourceFile.id, SourceFile.warnings).where(SourceFile.id.in_(file_ids)))
    return {fid: [str(w) for w in (warnings or [])] for fid, warnings in rows}
