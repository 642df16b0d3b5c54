"""The one read of the database every export shares: a script's current storyboards as plain, ordered data.

Exports never query the database themselves, so each writer is a pure function of this snapshot (easy to test,
and a PDF and a shot list made at the same moment agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.assets import AssetStore
from core.errors import NotFoundError
from core.models import Asset, Comment, PromptVersion, SourceFile, Storyboard, Video
from core.review import comments_by_subject


@dataclass(frozen=True)
class CommentRow:
    author: str
    body: str
    at: datetime | None


@dataclass(frozen=True)
class FrameRow:
    frame_id: int
    position: int
    scene_text: str
    prompt: str
    status: str
    image_path: Path | None  # the selected image on disk, None when there is none (or its file is missing)
    comments: tuple[CommentRow, ...] = ()
    lock_version: int = 1  # the optimistic-lock counter when the snapshot was taken
    storyboard_id: int = 0


@dataclass(frozen=True)
class ShotRow:
    shot_id: int
    position: int
    summary: str
    narration: str
    status: str
    frames: tuple[FrameRow, ...]
    clip_path: Path | None
    clip_duration_s: float | None
    comments: tuple[CommentRow, ...] = ()


@dataclass(frozen=True)
class VideoRow:
    video_id: int
    position: int
    number: int
    title: str
    header_text: str
    body: str
    shots: tuple[ShotRow, ...]

    @property
    def slug(self) -> str:
        """A file-name stem: `v01`, `v02`… (titles are Arabic and may repeat, so they stay out of file names)."""
        return f"v{self.position:02d}"


@dataclass(frozen=True)
class ScriptSnapshot:
    file_id: int
    title: str
    original_name: str
    preface: str
    videos: tuple[VideoRow, ...] = field(default_factory=tuple)

    def video(self, video_id: int) -> VideoRow:
        for v in self.videos:
            if v.video_id == video_id:
                return v
        raise NotFoundError(f"Video {video_id} is not part of script {self.file_id}")


def collect_script(session: Session, file_id: int, *, data_dir: Path, video_id: int | None = None,
                   store: AssetStore | None = None) -> ScriptSnapshot:
    """Everything an export needs about a script (or one of its videos), from the current storyboards.

    Image and clip paths are local files from `store` (default: the data dir's own files); with object storage,
    pass the runtime's store so they are cached downloads."""
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    store = store or AssetStore(data_dir)
    videos = list(source.videos)
    if video_id is not None:
        videos = [v for v in videos if v.id == video_id]
        if not videos:
            raise NotFoundError(f"Video {video_id} is not part of script {file_id}")
    return ScriptSnapshot(file_id=source.id, title=source.title or source.original_name,
                          original_name=source.original_name, preface=source.preface,
                          videos=tuple(_video_row(session, v, store) for v in videos))


def script_of_video(session: Session, video_id: int) -> int:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist")
    return video.source_file_id


def _video_row(session: Session, video: Video, store: AssetStore) -> VideoRow:
    board = session.scalar(select(Storyboard).where(Storyboard.video_id == video.id, Storyboard.is_current))
    shots = [s for s in board.shots if s.deleted_at is None] if board else []
    frames = [f for s in shots for f in s.frames if f.deleted_at is None]
    prompt_ids = [f.selected_prompt_id for f in frames if f.selected_prompt_id]
    prompts = {p.id: p.text for p in session.scalars(select(PromptVersion).where(PromptVersion.id.in_(prompt_ids)))}
    asset_ids = [f.selected_image_id for f in frames if f.selected_image_id]
    asset_ids += [s.selected_clip_id for s in shots if s.selected_clip_id]
    assets = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(asset_ids)))}
    frame_notes = comments_by_subject(session, "frame", [f.id for f in frames])
    shot_notes = comments_by_subject(session, "shot", [s.id for s in shots])

    shot_rows = []
    for shot in shots:
        clip = assets.get(shot.selected_clip_id) if shot.selected_clip_id else None
        frame_rows = tuple(
            FrameRow(frame_id=f.id, position=f.position, scene_text=f.scene_text,
                     prompt=prompts.get(f.selected_prompt_id or -1, ""), status=f.review_status,
                     image_path=_file(store, assets.get(f.selected_image_id) if f.selected_image_id else None),
                     comments=_notes(frame_notes.get(f.id, [])), lock_version=f.lock_version,
                     storyboard_id=shot.storyboard_id)
            for f in shot.frames if f.deleted_at is None)
        shot_rows.append(ShotRow(shot_id=shot.id, position=shot.position, summary=shot.summary,
                                 narration=shot.narration, status=shot.review_status, frames=frame_rows,
                                 clip_path=_file(store, clip), clip_duration_s=clip.duration_s if clip else None,
                                 comments=_notes(shot_notes.get(shot.id, []))))
    return VideoRow(video_id=video.id, position=video.position, number=video.number, title=video.title,
                    header_text=video.header_text, body=video.body, shots=tuple(shot_rows))


def _file(store: AssetStore, asset: Asset | None) -> Path | None:
    return store.local_file(asset.storage_key) if asset is not None else None


def _notes(rows: list[Comment]) -> tuple[CommentRow, ...]:
    return tuple(CommentRow(c.author, c.body, c.created_at) for c in rows)


def export_dir(data_dir: Path, file_id: int) -> Path:
    """Where a script's deliverables are written by default (and what its archive carries as `exports/`)."""
    return Path(data_dir) / "exports" / f"script-{file_id}"
