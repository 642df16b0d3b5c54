"""A storyboard read once into plain values the pages draw: shots, frames, selected prompt/image/clip, job state.

Reading into frozen dataclasses (instead of drawing from ORM objects) keeps sessions short and lets the pages
draw after the session is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from core.assets import AssetStore
from core.models import Storyboard
from studio.queries import board_grid, board_header
from studio.widgets import escape_markdown


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

    @property
    def chip(self) -> str:
        if self.job_status in ("pending", "submitted", "running", "failed"):
            return self.job_status
        return "succeeded" if self.clip_id else "none"


@dataclass(frozen=True)
class BoardView:
    storyboard_id: int
    video_id: int
    video_title: str  # markdown-escaped: shown in titles and captions
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


def _frame_view(row: Row[Any], store: AssetStore) -> FrameView:
    return FrameView(
        id=row.frame_id, shot_id=row.shot_id, shot_position=row.shot_position, position=row.frame_position,
        scene_text=row.scene_text, lock_version=row.frame_lock_version, review_status=row.frame_review_status,
        prompt_id=row.selected_prompt_id, prompt=row.prompt_text or "", image_id=row.selected_image_id,
        image_path=_path(store, row.image_key), job_status=row.image_job_status, job_error=row.image_job_error,
        job_category=row.image_job_category,
    )


def load_board(session: Session, storyboard_id: int, store: AssetStore) -> BoardView:
    """Everything the Storyboard, Images and Clips pages draw for one storyboard version (`store`: the
    runtime's asset store, `rt.assets`, which gives the images and clips as local files).

    Two queries whatever the board's size: its header, and its grid (`studio.queries.board_grid`)."""
    header = board_header(session, storyboard_id)
    if header is None:
        from core.errors import NotFoundError

        raise NotFoundError(f"Storyboard {storyboard_id} does not exist")
    shots = []
    for _, group in groupby(board_grid(session, storyboard_id), key=lambda r: r.shot_id):  # ordered by shot
        rows = list(group)
        first = rows[0]
        shots.append(ShotView(
            id=first.shot_id, position=first.shot_position, summary=first.summary, narration=first.narration,
            review_status=first.shot_review_status, lock_version=first.shot_lock_version,
            frames=tuple(_frame_view(r, store) for r in rows if r.frame_id is not None),
            clip_id=first.selected_clip_id, clip_path=_path(store, first.clip_key),
            job_status=first.clip_job_status, job_error=first.clip_job_error,
        ))
    return BoardView(
        storyboard_id=header.storyboard_id, video_id=header.video_id,
        video_title=f"{header.video_number}\\. \u2068{escape_markdown(header.video_title)}\u2069",
        video_body=header.video_body, version=header.version, is_current=header.is_current, shots=tuple(shots),
    )


def uncovered_sentences(body: str, narrations: list[str]) -> list[str]:
    """Sentences of the video's narration that no shot covers (after edits or deletions), in order."""
    from core.sentences import split_sentences

    def norm(text: str) -> str:
        return " ".join(text.split())

    covered = norm(" ".join(narrations))
    return [s for s in split_sentences(body) if norm(s) and norm(s) not in covered]
