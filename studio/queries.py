"""Read-only queries the pages need and `core` does not (yet) offer. Nothing here writes.

A storyboard itself is read by `core.board` (through `studio.board`), never here.

Candidates to move into `core` are marked `# core?`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Asset, Frame, Job, Shot, SourceFile, Storyboard, Video


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
