"""The library store: ingested scripts, their videos and storyboard versions.

Unit-of-work functions: each takes a `session`, may flush, and never commits — the caller commits (or rolls back,
as `core.db.session_scope` does on any error).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.errors import ConflictError, NotFoundError
from core.hashing import sha256_bytes
from core.ingest.limits import check_storyboard_size
from core.models import Activity, Frame, Shot, SourceFile, Storyboard, StyleBible, Video, utcnow
from core.settings import Settings
from core.storage import Storage, make_storage
from core.board_layout import DEFAULT_WPM, Density
from core.storyboard_store import (
    choose_density,
    clear_current,
    insert_boards,
    insert_plain_rows,
    offline_board,
    rebuild_board,
    table_of,
)

if TYPE_CHECKING:
    from core.ingest.segment import VideoSegment

if TYPE_CHECKING:
    from core.board import BoardShot

SOURCES_DIR = "sources"
_NAME_LIMIT = 512  # SourceFile.original_name / title
_TITLE_LIMIT = 1024  # Video.title


@dataclass(frozen=True)
class IngestResult:
    source_file_id: int
    created: bool  # False when the same bytes were already in the library (nothing was rebuilt)
    warnings: list[str] = field(default_factory=list)
    video_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ScriptSummary:
    """One row of the Library page. Counts are over the current storyboard of each video, live rows only."""

    id: int
    title: str
    original_name: str
    created_at: datetime
    video_count: int
    shot_count: int
    frame_count: int
    frames_with_prompt: int
    frames_with_image: int
    shots_with_clip: int
    last_activity_at: datetime | None
    archived: bool
    warnings: int


# ---- ingesting ----------------------------------------------------------------------------------------------


def ingest_file(
    session: Session,
    data: bytes,
    original_name: str,
    *,
    settings: Settings,
    shots: int | None = None,
    frames: int | None = None,
    density: str | None = None,
    pace_s: float | None = None,
    actor: str = "",
) -> IngestResult:
    """Store a Word script: the source file, its style bible, its videos and storyboard version 1 of each.

    The same bytes give the same source file (`created=False`) and nothing is rebuilt; re-uploading an archived
    script brings it back. The file is parsed and every storyboard planned before anything is written, so a
    rejected file (`IngestError`) or bad counts (`ValidationError`) leave no row and no file behind. The original
    bytes are kept as `sources/<sha256>.docx` in the storage (the data dir, or the bucket every process shares):
    content-addressed, so a copy left by a transaction that later rolls back is harmless and is reused by the next
    upload of the same bytes.
    """
    require("edit")
    # Imported here: python-docx and the prompts package are heavy, and most library readers need neither.
    from core.ingest import segment_docx
    from core.prompts.style import DEFAULT_STYLE

    digest = sha256_bytes(data)
    existing = session.scalar(select(SourceFile).where(SourceFile.sha256 == digest))
    if existing is not None:
        if existing.archived_at is not None:
            existing.archived_at = None
            log_activity(session, "restore", actor=actor, source_file_id=existing.id, subject_type="file",
                         subject_id=existing.id, reason="uploaded again")
        return IngestResult(existing.id, False, list(existing.warnings or []), _video_ids(session, existing.id))

    segmentation = segment_docx(
        data, max_upload_bytes=settings.max_upload_bytes, max_uncompressed_bytes=settings.max_uncompressed_bytes,
        concurrency=settings.ingest_concurrency,
    )
    chosen = choose_density(settings, density=density, shots=shots, frames=frames, pace_s=pace_s)
    boards = [offline_board(v.body, chosen, directions=_directions_json(v), scenes=_scenes_json(v))
              for v in segmentation.videos]
    check_storyboard_size(len(boards), sum(board.frame_count for board in boards))  # before anything is stored

    stored_name = f"{SOURCES_DIR}/{digest}.docx"
    storage = make_storage(settings)
    # The original bytes are written (and fsynced: a disk's wait, not the interpreter's) while the rows are
    # inserted, and the write is awaited before returning, so the caller never commits rows whose file is not
    # kept. An ingest whose inserts fail waits for the write too (the pool's exit); the copy left is harmless.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keep-source") as pool:
        kept = pool.submit(_keep_source, storage, stored_name, data)
        source = SourceFile(
            sha256=digest,
            original_name=_display_name(original_name),
            stored_name=stored_name,
            size_bytes=len(data),
            title=segmentation.title[:_NAME_LIMIT],
            preface=segmentation.preface,
            warnings=list(segmentation.warnings),
        )
        session.add(source)
        try:
            session.flush()
        except IntegrityError as exc:  # the same bytes were stored by a concurrent upload a moment ago
            raise ConflictError("This file was just added by someone else; reload the library to see it.") from exc
        session.add(StyleBible(source_file_id=source.id, **{**DEFAULT_STYLE.model_dump(),
                                                             "aspect_ratio": settings.aspect_ratio}))

        video_rows = [
            {"source_file_id": source.id, "position": position, "number": segment.number,
             "title": segment.title[:_TITLE_LIMIT],
             "header_text": segment.header_text, "body": segment.body,
             "directions": json.dumps(_directions_json(segment), ensure_ascii=False),
             "scenes": json.dumps(_scenes_json(segment), ensure_ascii=False)}
            for position, segment in enumerate(segmentation.videos, start=1)
        ]
        if video_rows:
            insert_plain_rows(session, table_of(Video), video_rows)
        video_ids = _video_ids(session, source.id)
        insert_boards(session, [(vid, 1, rows) for vid, rows in zip(video_ids, boards)])
        log_activity(session, "ingest", actor=actor, source_file_id=source.id, subject_type="file",
                     subject_id=source.id, videos=len(video_ids), shots=chosen.shots, frames=chosen.frames,
                     density=chosen.kind, pace_s=chosen.pace_s, warnings=len(segmentation.warnings))
        kept.result()
    return IngestResult(source.id, True, list(segmentation.warnings), video_ids)


def _keep_source(storage: Storage, stored_name: str, data: bytes) -> None:
    if not storage.exists(stored_name):  # content-addressed: a copy already there has these very bytes
        storage.put(stored_name, data)


def source_path(settings: Settings, source: SourceFile) -> Path:
    """A local file with the original bytes of `source` (a cached download when sources live in a bucket)."""
    return make_storage(settings).open_local(source.stored_name)


def _display_name(name: str) -> str:
    # Only ever displayed; keep the last path component so "C:\\x\\y.docx" shows as "y.docx".
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "untitled.docx"
    return base[:_NAME_LIMIT]


def _directions_json(segment: VideoSegment) -> list[dict[str, Any]]:
    return [d.to_json() for d in segment.directions]


def _scenes_json(segment: VideoSegment) -> list[dict[str, Any]]:
    return [{"at": m.at, "title": m.title} for m in segment.scenes]


def _video_ids(session: Session, file_id: int) -> tuple[int, ...]:
    stmt = select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)
    return tuple(session.scalars(stmt))


# ---- storyboard versions ------------------------------------------------------------------------------------


def rebuild_storyboard(session: Session, video_id: int, *, shots: int, frames: int, density: str = "fixed",
                       pace_s: float | None = None, wpm: float = DEFAULT_WPM, actor: str = "") -> Storyboard:
    """Cut the video again (`core.board_layout`): `fixed` about `shots` × `frames`, or `paced` one frame per
    `pace_s` seconds of narration in shots of at most `frames`. A new current version; old versions stay."""
    chosen = Density(kind=density, shots=shots, frames=frames, pace_s=pace_s if density == "paced" else None,
                     wpm=wpm)
    return rebuild_board(session, video_id, chosen, actor=actor)


def set_current_storyboard(session: Session, storyboard_id: int, *, actor: str = "") -> Storyboard:
    """Make an earlier (or later) version of a video's storyboard the current one again."""
    require("edit")
    board = session.get(Storyboard, storyboard_id)
    if board is None:
        raise NotFoundError(f"Storyboard {storyboard_id} does not exist.")
    if not board.is_current:
        _clear_current(session, board.video_id)
        board.is_current = True
        session.flush()
        video = session.get(Video, board.video_id)
        log_activity(session, "switch_storyboard", actor=actor,
                     source_file_id=video.source_file_id if video else None,
                     subject_type="video", subject_id=board.video_id, version=board.version)
    return board


def _clear_current(session: Session, video_id: int) -> None:
    clear_current(session, video_id)


def current_storyboard(session: Session, video_id: int) -> Storyboard:
    board = session.scalar(
        select(Storyboard).where(Storyboard.video_id == video_id, Storyboard.is_current.is_(True))
    )
    if board is None:
        raise NotFoundError(f"Video {video_id} has no storyboard.")
    return board


def list_storyboards(session: Session, video_id: int) -> list[Storyboard]:
    """Every version of a video's storyboard, oldest first."""
    stmt = select(Storyboard).where(Storyboard.video_id == video_id).order_by(Storyboard.version)
    return list(session.scalars(stmt))


# ---- reading ------------------------------------------------------------------------------------------------


def get_source_file(session: Session, file_id: int) -> SourceFile:
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} is not in the library.")
    return source


def get_video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist.")
    return video


def list_videos(session: Session, file_id: int) -> list[Video]:
    return list(session.scalars(select(Video).where(Video.source_file_id == file_id).order_by(Video.position)))


def live_frames(session: Session, shot_id: int) -> list[Frame]:
    stmt = select(Frame).where(Frame.shot_id == shot_id, Frame.deleted_at.is_(None)).order_by(Frame.position, Frame.id)
    return list(session.scalars(stmt))


def storyboard_json(session: Session, file_id: int) -> dict[str, Any]:
    """The script as stored: videos → current board's live shots (narration, directions, plan, cast, clip
    staleness) → live frames (scene text, beat, selected prompt, prompt and image staleness), from the one read
    model (`core.board`, a constant number of queries)."""
    from core.board import load_script  # imported here: it needs the prompts package, most readers do not

    script = load_script(session, file_id)
    out_videos: list[dict[str, Any]] = []
    for video in script.videos:
        board = script.board_of(video.id)
        out_videos.append({
            "id": video.id,
            "position": video.position,
            "number": video.number,
            "title": video.title,
            "storyboard": None if board is None else {
                "id": board.id, "version": board.version,
                "shots_requested": board.shots_requested, "frames_requested": board.frames_requested,
                "density": board.density, "pace_s": board.pace_s, "planner": board.planner,
                "planner_model": board.planner_model, "builder_version": board.builder_version,
                "template_version": board.template_version, "note": board.note,
            },
            "shots": [_shot_json(shot) for shot in board.shots] if board else [],
        })
    return {
        "file": {
            "id": script.file_id, "title": script.title, "original_name": script.original_name,
            "sha256": script.sha256, "preface": script.preface, "warnings": list(script.warnings),
            "archived": script.archived,
        },
        "videos": out_videos,
    }


def _shot_json(shot: BoardShot) -> dict[str, Any]:
    return {
        "id": shot.id, "position": shot.position, "summary": shot.summary, "narration": shot.narration,
        "directions": list(shot.directions), "status": shot.review_status, "lock_version": shot.lock_version,
        "selected_clip_id": shot.clip_id, "scene": shot.scene, "shot_size": shot.shot_size,
        "camera_move": shot.camera_move, "subject": shot.subject, "action": shot.action, "location": shot.location,
        "on_screen_text": shot.on_screen_text, "motion_prompt": shot.motion_prompt, "chain_break": shot.chain_break,
        "cast": list(shot.cast), "clip_staleness": shot.clip_freshness.as_json(),
        "frames": [
            {
                "id": f.id, "position": f.position, "scene_text": f.scene_text, "beat": f.beat,
                "status": f.review_status, "lock_version": f.lock_version, "selected_prompt_id": f.prompt_id,
                "selected_image_id": f.image_id, "prompt": f.prompt_text,
                "prompt_staleness": f.prompt_freshness.as_json(), "image_staleness": f.image_freshness.as_json(),
            }
            for f in shot.frames
        ],
    }


def list_scripts(session: Session, *, include_archived: bool = False) -> list[ScriptSummary]:
    """The Library page's rows, most recently active first, from five aggregate queries (no per-script queries)."""
    stmt = select(SourceFile)
    if not include_archived:
        stmt = stmt.where(SourceFile.archived_at.is_(None))
    sources = list(session.scalars(stmt))
    if not sources:
        return []
    ids = [s.id for s in sources]
    video_counts: dict[int, int] = {
        fid: n for fid, n in session.execute(
            select(Video.source_file_id, func.count(Video.id)).where(Video.source_file_id.in_(ids))
            .group_by(Video.source_file_id)
        ).tuples()
    }
    live_current = (Storyboard.is_current.is_(True), Shot.deleted_at.is_(None), Video.source_file_id.in_(ids))
    shot_stats = {
        fid: (n, clips) for fid, n, clips in session.execute(
            select(Video.source_file_id, func.count(Shot.id), func.count(Shot.selected_clip_id))
            .select_from(Shot).join(Storyboard).join(Video).where(*live_current).group_by(Video.source_file_id)
        ).tuples()
    }
    frame_stats = {
        fid: (n, prompts, images) for fid, n, prompts, images in session.execute(
            select(Video.source_file_id, func.count(Frame.id), func.count(Frame.selected_prompt_id),
                   func.count(Frame.selected_image_id))
            .select_from(Frame).join(Shot).join(Storyboard).join(Video)
            .where(*live_current, Frame.deleted_at.is_(None)).group_by(Video.source_file_id)
        ).tuples()
    }
    last_seen: dict[int, datetime] = {
        fid: at for fid, at in session.execute(
            select(Activity.source_file_id, func.max(Activity.at)).where(Activity.source_file_id.in_(ids))
            .group_by(Activity.source_file_id)
        ).tuples() if fid is not None and at is not None
    }
    rows = []
    for s in sources:
        n_shots, clips = shot_stats.get(s.id, (0, 0))
        n_frames, prompts, images = frame_stats.get(s.id, (0, 0, 0))
        rows.append(ScriptSummary(
            id=s.id, title=s.title, original_name=s.original_name, created_at=s.created_at,
            video_count=video_counts.get(s.id, 0), shot_count=n_shots, frame_count=n_frames,
            frames_with_prompt=prompts, frames_with_image=images, shots_with_clip=clips,
            last_activity_at=last_seen.get(s.id), archived=s.archived_at is not None,
            warnings=len(s.warnings or []),
        ))
    rows.sort(key=lambda r: (r.last_activity_at or r.created_at, r.id), reverse=True)
    return rows


# ---- archiving ----------------------------------------------------------------------------------------------


def archive_script(session: Session, file_id: int, *, actor: str = "") -> SourceFile:
    """Hide a script from the library (soft: everything stays and `restore_script` brings it back)."""
    require("edit")
    source = get_source_file(session, file_id)
    if source.archived_at is None:
        source.archived_at = utcnow()
        log_activity(session, "archive", actor=actor, source_file_id=file_id, subject_type="file", subject_id=file_id)
        session.flush()
    return source


def restore_script(session: Session, file_id: int, *, actor: str = "") -> SourceFile:
    require("edit")
    source = get_source_file(session, file_id)
    if source.archived_at is not None:
        source.archived_at = None
        log_activity(session, "restore", actor=actor, source_file_id=file_id, subject_type="file", subject_id=file_id)
        session.flush()
    return source
