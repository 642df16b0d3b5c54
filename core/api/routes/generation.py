"""`POST /generation/images` and `POST /generation/video`: queue render jobs (202 with the job); their
`…/estimate` twins answer what the same body would queue, what it costs and whether the budget admits it, queuing
nothing (`core.money`, the rule the studio and the CLI use)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from core.api.clips import estimate_explicit_clip, queue_explicit_clip
from core.api.deps import RuntimeDep, SessionDep
from core.api.errors import errors_doc
from core.api.schemas import ClipJobIn, EstimateOut, ImageJobIn, JobOut
from core.api.views import estimate_out, job_out
from core.errors import NotFoundError
from core.jobs import quote_clip, quote_image, request_clip, request_image
from core.models import PromptVersion
from core.prompts import select_version

router = APIRouter(tags=["generation"])


@router.post("/generation/images", status_code=202, response_model=JobOut, responses=errors_doc(409))
def queue_image(body: ImageJobIn, session: SessionDep, runtime: RuntimeDep) -> JobOut:
    """Queue an image for a frame's selected prompt (`frame_id`), or for one prompt version (`prompt_id`,
    which becomes the frame's selected prompt). Asking again while that render is in flight returns the same
    job; poll `GET /jobs/{id}`."""
    frame_id = _target_frame(session, body)
    job = request_image(session, frame_id, settings=runtime.settings, force=body.force, actor="api")
    session.commit()
    return job_out(session, job)


@router.post("/generation/video", status_code=202, response_model=JobOut, responses=errors_doc(409, 502, 503))
def queue_clip(body: ClipJobIn, request: Request, session: SessionDep, runtime: RuntimeDep) -> JobOut:
    """Queue a clip: for a shot (`shot_id`: its first and last frames' images, missing images queued first),
    or from explicit images (`start_image_id` | `start_image_url`, optional `end_image_id` | `end_image_url`)
    and a motion `prompt`. Asking again while that render is in flight returns the same job."""
    if body.shot_id is not None:
        job = request_clip(session, body.shot_id, settings=runtime.settings, force=body.force, actor="api")
    else:
        job = queue_explicit_clip(session, body, settings=runtime.settings, client=request.app.state.fetch_client)
    session.commit()
    return job_out(session, job)


@router.post("/generation/images/estimate", response_model=EstimateOut, responses=errors_doc(409))
def estimate_image(body: ImageJobIn, session: SessionDep, runtime: RuntimeDep) -> EstimateOut:
    """What `POST /generation/images` with this body would queue and cost, and whether the script's budget
    admits it. Queues nothing; a refusal the request would give (locked, no prompt) is given here too."""
    frame_id = _target_frame(session, body)  # selects the version as the request would; rolled back below
    quote = quote_image(session, frame_id, settings=runtime.settings, force=body.force)
    session.rollback()
    return estimate_out(quote)


@router.post("/generation/video/estimate", response_model=EstimateOut, responses=errors_doc(409, 502, 503))
def estimate_clip(body: ClipJobIn, request: Request, session: SessionDep, runtime: RuntimeDep) -> EstimateOut:
    """What `POST /generation/video` with this body would queue (the clip and any images it waits for), what it
    costs at the clip length actually sent, and whether the budget admits it whole. Queues nothing."""
    if body.shot_id is not None:
        quote = quote_clip(session, body.shot_id, settings=runtime.settings, force=body.force)
    else:
        quote = estimate_explicit_clip(session, body, settings=runtime.settings,
                                       client=request.app.state.fetch_client)
    session.rollback()
    return estimate_out(quote)


def _target_frame(session: Session, body: ImageJobIn) -> int:
    """The frame an image request is for: `frame_id`, or the frame of `prompt_id`, which becomes that frame's
    selected prompt."""
    if body.prompt_id is None:
        assert body.frame_id is not None  # the body validator guarantees one of the two
        return body.frame_id
    version = session.get(PromptVersion, body.prompt_id)
    if version is None:
        raise NotFoundError(f"There is no prompt version with id {body.prompt_id}.")
    select_version(session, version.frame_id, version.id, actor="api")
    return version.frame_id
