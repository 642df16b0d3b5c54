"""Stored rows → API bodies. Reads only; every function takes the request's session."""

from __future__ import annotations


from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.api.schemas import AssetRef, FrameOut, JobOut, PromptOut, ShotOut, StoryboardOut, VideoOut
from core.errors import NotFoundError
from core.models import Asset, Job, PromptVersion, Shot, SourceFile, Storyboard, Video


def storyboard_out(session: Session, file_id: int) -> StoryboardOut:
    """The file's videos in document order, each with its current storyboard (deleted shots/frames left out)."""
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"There is no script with id {file_id}.")
    videos = list(session.scalars(select(Video).where(Video.source_file_id == file_id).order_by(Video.position)))
    boards = {
        b.video_id: b
        for b in session.scalars(
            select(Storyboard)
            .where(Storyboard.video_id.in_([v.id for v in videos]), Storyboard.is_current.is_(True))
            .options(selectinload(Storyboard.shots).selectinload(Shot.frames))
        )
    }
    return StoryboardOut(
        file_id=source.id,
        title=source.title,
        warnings=[str(w) for w in source.warnings or []],
        videos=[_video_out(v, boards.get(v.id)) for v in videos],
    )


def _video_out(video: Video, board: Storyboard | None) -> VideoOut:
    shots = [] if board is None else [s for s in board.shots if s.deleted_at is None]
    return VideoOut(
        id=video.id,
        number=video.number,
        position=video.position,
        title=video.title,
        storyboard_id=board.id if board else None,
        storyboard_version=board.version if board else None,
        shots=[
            ShotOut(
                id=shot.id,
                position=shot.position,
                summary=shot.summary,
                review_status=shot.review_status,
                selected_clip_id=shot.selected_clip_id,
                frames=[
                    FrameOut(
                        id=f.id,
                        position=f.position,
                        scene_text=f.scene_text,
                        review_status=f.review_status,
                        selected_prompt_id=f.selected_prompt_id,
                        selected_image_id=f.selected_image_id,
                    )
                    for f in shot.frames
                    if f.deleted_at is None
                ],
            )
            for shot in shots
        ],
    )


def prompt_out(version: PromptVersion, *, selected: bool, reused: bool) -> PromptOut:
    return PromptOut(
        id=version.id,
        frame_id=version.frame_id,
        number=version.number,
        text=version.text,
        negative_prompt=version.negative_prompt,
        shot_size=version.shot_size,
        camera=version.camera,
        lighting=version.lighting,
        provider=version.provider,
        model=version.model,
        template_version=version.template_version,
        selected=selected,
        reused=reused,
    )


def asset_ref(asset: Asset) -> AssetRef:
    return AssetRef(
        id=asset.id,
        kind=asset.kind,
        content_type=asset.content_type,
        url=f"/assets/{asset.id}",
        width=asset.width,
        height=asset.height,
        duration_s=asset.duration_s,
    )


def _ints(values: object) -> list[int]:
    if not isinstance(values, list):
        return []
    return [int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())]


def job_input_urls(job: Job) -> list[str]:
    """Image URLs a clip job was asked to start / end on (explicit-URL clips keep them in `params`)."""
    params = job.params or {}
    return [str(params[k]) for k in ("start_image_url", "end_image_url") if params.get(k)]


def job_out(session: Session, job: Job) -> JobOut:
    assets = session.scalars(
        select(Asset).where(Asset.job_id == job.id, Asset.discarded_at.is_(None)).order_by(Asset.id)
    )
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        frame_id=job.frame_id,
        shot_id=job.shot_id,
        prompt_version_id=job.prompt_version_id,
        prompt_text=job.prompt_text or "",
        provider=job.provider,
        model=job.model or "",
        input_asset_ids=_ints(job.input_asset_ids),
        input_urls=job_input_urls(job),
        depends_on=_ints(job.depends_on),
        attempts=job.attempts or 0,
        error=job.error,
        error_category=job.error_category,
        created_at=job.created_at,
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        cost_usd=job.cost_usd,
        assets=[asset_ref(a) for a in assets],
    )


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"There is no job with id {job_id}.")
    return job
