"""Stored rows → API bodies. Reads only; every function takes the request's session."""

from __future__ import annotations


from sqlalchemy import select
from sqlalchemy.orm import Session

from core.api.schemas import (
    AssetRef,
    EstimateOut,
    FrameOut,
    FreshnessOut,
    JobOut,
    PromptOut,
    ShotOut,
    StoryboardOut,
    VideoOut,
)
from core.board import Board, BoardFrame, BoardShot, BoardVideo, Freshness, load_script
from core.errors import NotFoundError
from core.models import Asset, Job, PromptVersion
from core.money import Quote


def storyboard_out(session: Session, file_id: int) -> StoryboardOut:
    """The file's videos in document order, each with its current board (`core.board`; deleted shots and frames
    left out)."""
    try:
        script = load_script(session, file_id)
    except NotFoundError:
        raise NotFoundError(f"There is no script with id {file_id}.") from None
    return StoryboardOut(
        file_id=script.file_id,
        title=script.title,
        warnings=list(script.warnings),
        videos=[_video_out(v, script.board_of(v.id)) for v in script.videos],
    )


def _freshness(value: Freshness) -> FreshnessOut:
    return FreshnessOut(state=value.state, reasons=list(value.reasons))


def _video_out(video: BoardVideo, board: Board | None) -> VideoOut:
    return VideoOut(
        id=video.id,
        number=video.number,
        position=video.position,
        title=video.title,
        storyboard_id=board.id if board else None,
        storyboard_version=board.version if board else None,
        shots=[_shot_out(s) for s in board.shots] if board else [],
    )


def _shot_out(shot: BoardShot) -> ShotOut:
    return ShotOut(
        id=shot.id, position=shot.position, summary=shot.summary, review_status=shot.review_status,
        selected_clip_id=shot.clip_id, frames=[_frame_out(f) for f in shot.frames], narration=shot.narration,
        directions=list(shot.directions), scene=shot.scene, shot_size=shot.shot_size,
        camera_move=shot.camera_move, subject=shot.subject, action=shot.action, location=shot.location,
        on_screen_text=shot.on_screen_text, motion_prompt=shot.motion_prompt, chain_break=shot.chain_break,
        lock_version=shot.lock_version, cast=list(shot.cast), clip_staleness=_freshness(shot.clip_freshness),
    )


def _frame_out(frame: BoardFrame) -> FrameOut:
    return FrameOut(
        id=frame.id, position=frame.position, scene_text=frame.scene_text, review_status=frame.review_status,
        selected_prompt_id=frame.prompt_id, selected_image_id=frame.image_id, beat=frame.beat,
        lock_version=frame.lock_version, prompt_text=frame.prompt_text,
        prompt_staleness=_freshness(frame.prompt_freshness), image_staleness=_freshness(frame.image_freshness),
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


def estimate_out(quote: Quote) -> EstimateOut:
    verdict = quote.admission
    return EstimateOut(images=quote.images, clips=quote.clips, usd=quote.total_usd, credits=quote.credits,
                       priced_from=quote.source, summary=quote.summary(), unchanged=quote.existing,
                       skipped={str(k): v for k, v in quote.skipped.items()}, admitted=verdict.admitted,
                       level=verdict.level, reason=verdict.reason, budget_usd=verdict.budget_usd,
                       spent_usd=verdict.spent_usd, committed_usd=verdict.committed_usd)

