"""Review actions: approve, send back, lock or unlock a frame, a shot or a whole video.

The same core calls as the studio's Review page and `python -m core review set`, so the same rules hold: the
transitions and comments `core.review` allows, the role check of `core.authz` (403 for a role that may not
review), and what was approved is stored, so a later change reads "changed" until approved again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from core import review
from core.api.deps import SessionDep
from core.api.errors import errors_doc
from core.api.schemas import MAX_ID, ReviewIn, ReviewOut, TransitionOut, VideoReviewOut
from core.models import Frame, Shot

router = APIRouter(tags=["review"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def _transition(t: review.Transition) -> TransitionOut:
    return TransitionOut(subject_type=t.subject_type, subject_id=t.subject_id, from_status=t.old, to_status=t.new,
                         comment_id=t.comment_id)


def _review(session: SessionDep, subject_type: str, subject_id: int, body: ReviewIn) -> ReviewOut:
    moved = review.set_status(session, subject_type, subject_id, body.status, actor=body.actor or "api",
                              comment=body.comment)
    session.commit()
    subject: Frame | Shot | None = (session.get(Frame, subject_id) if subject_type == "frame"
                                    else session.get(Shot, subject_id))
    assert subject is not None  # set_status found it
    return ReviewOut(**_transition(moved).model_dump(), review_status=review.status_of(session, subject))


@router.post("/frames/{frame_id}/review", response_model=ReviewOut, responses=errors_doc(403, 409))
def review_frame(frame_id: IdPath, body: ReviewIn, session: SessionDep) -> ReviewOut:
    """Move a frame to `status` (with an optional `comment`; "needs_changes" and unlocking require one)."""
    return _review(session, "frame", frame_id, body)


@router.post("/shots/{shot_id}/review", response_model=ReviewOut, responses=errors_doc(403, 409))
def review_shot(shot_id: IdPath, body: ReviewIn, session: SessionDep) -> ReviewOut:
    """Move a shot to `status`; approving a shot needs every live frame of it approved first."""
    return _review(session, "shot", shot_id, body)


@router.post("/videos/{video_id}/review", response_model=VideoReviewOut, responses=errors_doc(403, 409))
def review_video(video_id: IdPath, body: ReviewIn, session: SessionDep) -> VideoReviewOut:
    """Move every live frame of the video's current storyboard, then every shot, to `status`: all or nothing (the
    first refusal moves none and says which)."""
    moved = review.set_video_status(session, video_id, body.status, actor=body.actor or "api",
                                    comment=body.comment)
    session.commit()
    progress = review.approval_progress(session, video_id)
    return VideoReviewOut(video_id=video_id, moved=[_transition(t) for t in moved],
                          frames_total=progress.frames_total, frames_approved=progress.frames_approved,
                          shots_total=progress.shots_total, shots_approved=progress.shots_approved)
