"""A storyboard read once into plain values the pages draw: shots, frames, selected prompt/image/clip, job state.

Reading into frozen dataclasses (instead of drawing from ORM objects) keeps sessions short and lets the pages
draw after the session is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.assets import AssetStore
from core.models import Asset, Job, Storyboard, Video
from studio.widgets import escape_markdown
from studio.queries import (
    assets_by_id,
    latest_jobs,
    live_frames,
    live_shots,
    prompts_by_id,
)


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


def _path(store: AssetStore, asset: Asset | None) -> Path | None:
    # A local file (a cached download with object storage); a bad key or missing file is drawn as "no image".
    return store.local_file(asset.storage_key) if asset is not None else None


def _job_fields(job: Job | None) -> tuple[str | None, str | None, str | None]:
    if job is None:
        return None, None, None
    return job.status, job.error, job.error_category


def load_board(session: Session, storyboard_id: int, store: AssetStore) -> BoardView:
    """Everything the Storyboard, Images and Clips pages draw for one storyboard version (`store`: the
    runtime's asset store, `rt.assets`, which gives the images and clips as local files)."""
    board = session.get(Storyboard, storyboard_id)
    if board is None:
        from core.errors import NotFoundError

        raise NotFoundError(f"Storyboard {storyboard_id} does not exist")
    video = session.get(Video, board.video_id)
    assert video is not None
    shots = live_shots(board)
    frames = [f for s in shots for f in live_frames(s)]
    prompts = prompts_by_id(session, [f.selected_prompt_id for f in frames if f.selected_prompt_id])
    assets = assets_by_id(
        session,
        [f.selected_image_id for f in frames if f.selected_image_id]
        + [s.selected_clip_id for s in shots if s.selected_clip_id],
    )
    image_jobs = latest_jobs(session, kind="image", frame_ids=[f.id for f in frames])
    clip_jobs = latest_jobs(session, kind="clip", shot_ids=[s.id for s in shots])
    shot_views = []
    for shot in shots:
        frame_views = []
        for f in live_frames(shot):
            prompt = prompts.get(f.selected_prompt_id) if f.selected_prompt_id else None
            image = assets.get(f.selected_image_id) if f.selected_image_id else None
            status, error, category = _job_fields(image_jobs.get(f.id))
            frame_views.append(FrameView(
                id=f.id, shot_id=shot.id, shot_position=shot.position, position=f.position,
                scene_text=f.scene_text, lock_version=f.lock_version, review_status=f.review_status,
                prompt_id=f.selected_prompt_id, prompt=prompt.text if prompt else "",
                image_id=f.selected_image_id, image_path=_path(store, image),
                job_status=status, job_error=error, job_category=category,
            ))
        clip = assets.get(shot.selected_clip_id) if shot.selected_clip_id else None
        cstatus, cerror, _ = _job_fields(clip_jobs.get(shot.id))
        shot_views.append(ShotView(
            id=shot.id, position=shot.position, summary=shot.summary, narration=shot.narration,
            review_status=shot.review_status, lock_version=shot.lock_version, frames=tuple(frame_views),
            clip_id=shot.selected_clip_id, clip_path=_path(store, clip), job_status=cstatus, job_error=cerror,
        ))
    return BoardView(
        storyboard_id=board.id, video_id=video.id,
        video_title=f"{video.number}. \u2068{escape_markdown(video.title)}\u2069",
        video_body=video.body, version=board.version, is_current=board.is_current, shots=tuple(shot_views),
    )


def uncovered_sentences(body: str, narrations: list[str]) -> list[str]:
    """Sentences of the video's narration that no shot covers (after edits or deletions), in order."""
    from core.sentences import split_sentences

    def norm(text: str) -> str:
        return " ".join(text.split())

    covered = norm(" ".join(narrations))
    return [s for s in split_sentences(body) if norm(s) and norm(s) not in covered]
