"""`POST /prompts/generate`: refine a video's frames (or one frame) from the stored storyboard."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.api.deps import RuntimeDep, SessionDep
from core.api.errors import errors_doc
from core.api.schemas import FrameErrorOut, PromptGenerateIn, PromptGenerateOut, PromptOut
from core.api.views import prompt_out
from core.errors import NotFoundError
from core.models import Frame, PromptVersion, SourceFile, Video
from core.prompts import build_request, frames_in_scope, make_refiner, refine_frames, request_hash
from core.prompts.types import Refiner

router = APIRouter(tags=["prompts"])


def find_video(session: Session, file_id: int, number: int) -> Video:
    """The first video (in document order) of the script whose header number is `number`."""
    if session.get(SourceFile, file_id) is None:
        raise NotFoundError(f"There is no script with id {file_id}.")
    video = session.scalar(
        select(Video)
        .where(Video.source_file_id == file_id, Video.number == number)
        .order_by(Video.position)
        .limit(1)
    )
    if video is None:
        raise NotFoundError(f"Script {file_id} has no video number {number}.")
    return video


def _version_for(session: Session, frame_id: int, outcome: str, refiner: Refiner) -> PromptVersion | None:
    """The version a batch outcome refers to: the newest refined one for "refined", the one whose input
    hash matches the current request for "reused" (the same lookup the batch made)."""
    stmt = select(PromptVersion).where(PromptVersion.frame_id == frame_id, PromptVersion.origin == "refined")
    if outcome == "reused":
        stmt = stmt.where(PromptVersion.input_hash == request_hash(build_request(session, frame_id), refiner))
    return session.scalar(stmt.order_by(PromptVersion.number.desc()).limit(1))


@router.post("/prompts/generate", response_model=PromptGenerateOut, responses=errors_doc(409, 502, 503))
def generate_prompts(body: PromptGenerateIn, session: SessionDep, runtime: RuntimeDep) -> PromptGenerateOut:
    """Refine the frames of video `video_number` of script `file_id` (or just `frame_id`) with the configured
    refiner. Unchanged inputs reuse the existing version (`reused: true`) unless `force`; locked or approved
    frames are skipped unless `force`. Per-frame failures are listed in `errors` and do not fail the request."""
    video = find_video(session, body.file_id, body.video_number)
    scope = frames_in_scope(session, video_id=video.id)
    if body.frame_id is not None:
        if body.frame_id not in scope:
            raise NotFoundError(
                f"Frame {body.frame_id} is not in video {body.video_number} of script {body.file_id}."
            )
        scope = [body.frame_id]
    video_id, video_number = video.id, video.number
    settings = runtime.settings
    refiner = make_refiner(settings)
    session.rollback()  # end this request's read transaction: the batch writes through its own sessions
    summary = refine_frames(
        runtime.sessions, scope, refiner, concurrency=settings.refine_concurrency, force=body.force, actor="api"
    )
    prompts: list[PromptOut] = []
    for frame_id in scope:
        outcome = summary.outcomes.get(frame_id)
        if outcome not in ("refined", "reused"):
            continue
        version = _version_for(session, frame_id, outcome, refiner)
        if version is None:
            continue
        frame = session.get(Frame, frame_id)
        selected = frame is not None and frame.selected_prompt_id == version.id
        prompts.append(prompt_out(version, selected=selected, reused=outcome == "reused"))
    return PromptGenerateOut(
        file_id=body.file_id,
        video_id=video_id,
        video_number=video_number,
        provider=refiner.name,
        refined=summary.refined,
        reused=summary.reused,
        skipped=summary.skipped,
        failed=summary.failed,
        prompts=prompts,
        errors=[FrameErrorOut(frame_id=fid, detail=msg) for fid, msg in sorted(summary.errors.items())],
    )
