"""Read-only queries the pages need and `core` does not (yet) offer. Nothing here writes.

Candidates to move into `core` are marked `# core?`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    rows = session.scalars(
        select(SourceFile).where(SourceFile.archived_at.is_(None)).order_by(SourceFile.created_at.desc())
    )
    return [Option(f.id, f.title or f.original_name) for f in rows]


def video_options(session: Session, file_id: int) -> list[Option]:
    rows = session.scalars(select(Video).where(Video.source_file_id == file_id).order_by(Video.position))
    return [Option(v.id, f"{v.number}. \u2068{v.title}\u2069") for v in rows]


def live_shots(storyboard: Storyboard) -> list[Shot]:
    """Shots not deleted, in order, each with its live frames (deleted ones filtered by the caller's view)."""
    return [s for s in storyboard.shots if s.deleted_at is None]


def live_frames(shot: Shot) -> list[Frame]:
    return [f for f in shot.frames if f.deleted_at is None]


def assets_by_id(session: Session, ids: list[int]) -> dict[int, Asset]:
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}


def prompts_by_id(session: Session, ids: list[int]) -> dict[int, PromptVersion]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(PromptVersion).where(PromptVersion.id.in_(ids)))}


def latest_jobs(session: Session, *, kind: str, frame_ids: list[int] | None = None,
                shot_ids: list[int] | None = None) -> dict[int, Job]:  # core?
    """The newest job per frame (images) or per shot (clips): what the status chips show."""
    stmt = select(Job).where(Job.kind == kind).order_by(Job.id)
    if frame_ids is not None:
        if not frame_ids:
            return {}
        stmt = stmt.where(Job.frame_id.in_(frame_ids))
    if shot_ids is not None:
        if not shot_ids:
            return {}
        stmt = stmt.where(Job.shot_id.in_(shot_ids))
    out: dict[int, Job] = {}
    for job in session.scalars(stmt):
        owner = job.frame_id if kind == "image" else job.shot_id
        if owner is not None:
            out[owner] = job  # ordered by id, so the last one wins
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

