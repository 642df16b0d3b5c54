"""A storyboard as the pages draw it: `core.board` (the one read model: shots, frames, selected prompt/image/clip,
job state, review, staleness, cast) with image and clip files resolved and the title escaped for markdown.

Frozen dataclasses (instead of ORM objects) keep sessions short and let the pages draw after the session closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import board as core_board
from core.assets import AssetStore
from core.board import Freshness, Note
from core.models import Storyboard
from core.review import clip_gate
from studio.widgets import escape_markdown, is_mostly_arabic


@dataclass(frozen=True)
class FrameView:
    id: int
    shot_id: int
    shot_position: int
    position: int
    scene_text: str
    lock_version: int
    review_status: str
    prompt_id: int | None
    prompt: str
    image_id: int | None
    image_path: Path | None
    job_status: str | None  # of the newest image job
    job_error: str | None
    job_category: str | None
    beat: str = ""
    prompt_freshness: Freshness = core_board.MISSING
    image_freshness: Freshness = core_board.MISSING
    comments: tuple[Note, ...] = ()

    @property
    def label(self) -> str:
        return f"Shot {self.shot_position} · frame {self.position}"

    @property
    def chip(self) -> str:
        """The status a chip shows: the newest job's, or done/none from the selected image."""
        if self.job_status == "failed" and self.job_category == "nsfw":
            return "nsfw"
        if self.job_status in ("pending", "submitted", "running", "failed"):
            return self.job_status
        return "succeeded" if self.image_id else "none"


@dataclass(frozen=True)
class ShotView:
    id: int
    position: int
    summary: str
    narration: str
    review_status: str
    lock_version: int
    frames: tuple[FrameView, ...]
    clip_id: int | None
    clip_path: Path | None
    job_status: str | None
    job_error: str | None
    directions: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    clip_freshness: Freshness = core_board.MISSING
    comments: tuple[Note, ...] = ()
    voice_id: int | None = None  # the selected narration audio take
    voice_path: Path | None = None
    voice_duration_s: float | None = None
    voice_freshness: Freshness = core_board.MISSING
    voice_job_status: str | None = None
    voice_job_error: str | None = None

    @property
    def voice_chip(self) -> str:
        if self.voice_job_status in ("pending", "submitted", "running", "failed"):
            return self.voice_job_status
        return "succeeded" if self.voice_id else "none"

    @property
    def chip(self) -> str:
        if self.job_status in ("pending", "submitted", "running", "failed"):
            return self.job_status
        return "succeeded" if self.clip_id else "none"

    def clip_block_reason(self, *, relax: bool) -> str | None:
        """Why a clip may not be rendered (the render queue's rule; `relax`: `clip_gate_relaxed(settings)`)."""
        return clip_gate(self.position, self.review_status, [(f.position, f.review_status) for f in self.frames],
                         relax=relax)


@dataclass(frozen=True)
class BoardView:
    storyboard_id: int
    video_id: int
    video_title: str  # markdown-escaped: shown in titles and captions
    video_heading: str  # the same as a page heading: right to left (number first, on the right) when Arabic
    video_body: str
    version: int
    is_current: bool
    shots: tuple[ShotView, ...]

    @property
    def frames(self) -> list[FrameView]:
        return [f for s in self.shots for f in s.frames]


def current_storyboard_id(session: Session, video_id: int) -> int | None:
    return session.scalar(select(Storyboard.id).where(Storyboard.video_id == video_id, Storyboard.is_current))


def _path(store: AssetStore, key: str | None) -> Path | None:
    # A local file (a cached download with object storage); a bad key or missing file is drawn as "no image".
    return store.local_file(key) if key else None


def _frame_view(frame: core_board.BoardFrame, shot_position: int, store: AssetStore) -> FrameView:
    job = frame.image_job
    return FrameView(
        id=frame.id, shot_id=frame.shot_id, shot_position=shot_position, position=frame.position,
        scene_text=frame.scene_text, lock_version=frame.lock_version, review_status=frame.review_status,
        prompt_id=frame.prompt_id, prompt=frame.prompt_text, image_id=frame.image_id,
        image_path=_path(store, frame.image_key), job_status=job.status if job else None,
        job_error=job.error if job else None, job_category=job.category if job else None, beat=frame.beat,
        prompt_freshness=frame.prompt_freshness, image_freshness=frame.image_freshness, comments=frame.comments,
    )


def _shot_view(shot: core_board.BoardShot, store: AssetStore) -> ShotView:
    job = shot.clip_job
    return ShotView(
        id=shot.id, position=shot.position, summary=shot.summary, narration=shot.narration,
        review_status=shot.review_status, lock_version=shot.lock_version,
        frames=tuple(_frame_view(f, shot.position, store) for f in shot.frames), clip_id=shot.clip_id,
        clip_path=_path(store, shot.clip_key), job_status=job.status if job else None,
        job_error=job.error if job else None, directions=shot.directions, cast=shot.cast,
        clip_freshness=shot.clip_freshness, comments=shot.comments, voice_id=shot.voice_id,
        voice_path=_path(store, shot.voice_key), voice_duration_s=shot.voice_duration_s,
        voice_freshness=shot.voice_freshness, voice_job_status=shot.voice_job.status if shot.voice_job else None,
        voice_job_error=shot.voice_job.error if shot.voice_job else None,
    )


def load_board(session: Session, storyboard_id: int, store: AssetStore, *, comments: bool = False) -> BoardView:
    """Everything the Storyboard, Prompts, Images, Clips and Review pages draw for one storyboard version
    (`store`: the runtime's asset store, `rt.assets`, which gives the images and clips as local files; `comments`:
    the review threads too).

    `core.board.load_board`: two queries whatever the board's size (three with the comments)."""
    board = core_board.load_board(session, storyboard_id, comments=comments)
    video = board.video
    return BoardView(
        storyboard_id=board.id, video_id=video.id,
        video_title=f"{video.number}\\. \u2068{escape_markdown(video.title)}\u2069",
        # A right-to-left mark first: the heading's direction is its first strong letter, and the title's own
        # letters are inside an isolate (neutral from outside), so without it an Arabic title reads left to right.
        video_heading=("\u200f" if is_mostly_arabic(video.title) else "")
        + f"{video.number}\\. \u2068{escape_markdown(video.title)}\u2069",
        video_body=video.body, version=board.version, is_current=board.is_current,
        shots=tuple(_shot_view(s, store) for s in board.shots),
    )
