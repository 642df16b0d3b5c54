"""What every export shares: a script's current boards (`core.board`, the one read model) as export rows.

Exports never query the database themselves, so each writer is a pure function of this snapshot (easy to test,
and a PDF and a shot list made at the same moment agree). Narration is the shots' (what is said), directions
are the shots' own (what is seen): a writer never speaks a direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from core.assets import AssetStore
from core.board import Board, BoardFrame, BoardShot, BoardVideo, Freshness, Note, load_script
from core.errors import NotFoundError
from core.models import Video
from core.review import clip_gate

CommentRow = Note  # one comment of a review thread (author, body, at)


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
    beat: str = ""  # the narration the frame illustrates (shown, never spoken: the shot speaks it)
    prompt_freshness: Freshness = Freshness("missing")
    image_freshness: Freshness = Freshness("missing")


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
    directions: tuple[str, ...] = ()  # what is seen or done in the edit: shown in its own column, never spoken
    cast: tuple[str, ...] = ()
    clip_freshness: Freshness = Freshness("missing")
    voice_path: Path | None = None  # the selected narration audio on disk (core.voice)
    voice_duration_s: float | None = None  # its length: the shot's length (core.timing.shot_length)
    voice_freshness: Freshness = Freshness("missing")

    def clip_block_reason(self, *, relax: bool) -> str | None:
        """Why a clip may not be rendered for this shot (the render queue's rule, `core.review.clip_gate`)."""
        return clip_gate(self.position, self.status, [(f.position, f.status) for f in self.frames], relax=relax)


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
    """Everything an export needs about a script (or one of its videos), from the current boards (`core.board`).

    Image and clip paths are local files from `store` (default: the data dir's own files); with object storage,
    pass the runtime's store so they are cached downloads."""
    script = load_script(session, file_id, video_id=video_id, comments=True)
    store = store or AssetStore(data_dir)
    return ScriptSnapshot(file_id=script.file_id, title=script.title or script.original_name,
                          original_name=script.original_name, preface=script.preface,
                          videos=tuple(_video_row(v, script.board_of(v.id), store) for v in script.videos))


def script_of_video(session: Session, video_id: int) -> int:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist")
    return video.source_file_id


def _video_row(video: BoardVideo, board: Board | None, store: AssetStore) -> VideoRow:
    shots = board.shots if board is not None else ()
    return VideoRow(video_id=video.id, position=video.position, number=video.number, title=video.title,
                    header_text=video.header_text, body=video.body,
                    shots=tuple(_shot_row(s, board.id if board else 0, store) for s in shots))


def _shot_row(shot: BoardShot, storyboard_id: int, store: AssetStore) -> ShotRow:
    return ShotRow(shot_id=shot.id, position=shot.position, summary=shot.summary, narration=shot.narration,
                   status=shot.review_status, frames=tuple(_frame_row(f, storyboard_id, store) for f in shot.frames),
                   clip_path=_file(store, shot.clip_key), clip_duration_s=shot.clip_duration_s,
                   comments=shot.comments, directions=shot.directions, cast=shot.cast,
                   clip_freshness=shot.clip_freshness, voice_path=_file(store, shot.voice_key),
                   voice_duration_s=shot.voice_duration_s if shot.voice_key else None,
                   voice_freshness=shot.voice_freshness)


def _frame_row(frame: BoardFrame, storyboard_id: int, store: AssetStore) -> FrameRow:
    return FrameRow(frame_id=frame.id, position=frame.position, scene_text=frame.scene_text,
                    prompt=frame.prompt_text, status=frame.review_status, image_path=_file(store, frame.image_key),
                    comments=frame.comments, lock_version=frame.lock_version, storyboard_id=storyboard_id,
                    beat=frame.beat, prompt_freshness=frame.prompt_freshness,
                    image_freshness=frame.image_freshness)


def _file(store: AssetStore, key: str | None) -> Path | None:
    return store.local_file(key) if key else None


def export_dir(data_dir: Path, file_id: int) -> Path:
    """Where a script's deliverables are written by default (and what its archive carries as `exports/`)."""
    return Path(data_dir) / "exports" / f"script-{file_id}"
