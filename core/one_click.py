"""One click per shot: approve its frames in the acting person's name, then queue its missing images and its clip.

What "Approve and render clip" promises a producer (the Clips page and the board call `approve_and_render`):
- it runs only for someone who may both review and start renders; anyone else gets `one_click_refusal`'s reason
  before anything is written (a reviewer sees why, instead of a button that fails);
- every live frame of the shot, then the shot, moves to approved (drafts and frames that needed changes go through
  "in review", as the review gate requires), each move logged under the person's name;
- frames with no image get their image jobs first; the clip job waits for them (`core.jobs.request_clip`). With
  a video model that takes only a start image, only the image the clip starts on is rendered;
- everything happens in the caller's one unit of work: a refusal on the way (a budget, a gate) leaves the shot as
  it was and queues nothing;
- the estimate (`estimate_shot`) prices exactly what the click will queue — it is the click's own request
  (`core.jobs.queue.request_shot`) built without writing, as after the approval — so it can be shown beside the
  button, and the click's images and clip are admitted against the budget together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.authz import current_principal
from core.errors import GateError, NotFoundError, StudioError
from core.jobs import planning, prefetch
from core.jobs.queue import quote_batch, request_shot
from core.jobs.takes import source_file_of
from core.models import Frame, Shot
from core.money import Quote
from core.review import APPROVED_STATUSES, CHANGED, set_status, status_of
from core.settings import Settings


@dataclass(frozen=True)
class OneClickResult:
    """What one click did: frames approved, the image jobs the clip waits for (new or already in flight), the
    clip job, and the price that was shown for it."""

    shot_id: int
    shot_position: int
    frames_approved: int
    image_job_ids: tuple[int, ...]
    clip_job_id: int
    estimate: Quote

    def summary(self) -> str:
        images = len(self.image_job_ids)
        first = f"{images} image(s) first, then " if images else ""
        return (f"Shot {self.shot_position}: {self.frames_approved} frame(s) approved; queued {first}the clip "
                f"({self.estimate.summary()}).")


def approve_shot(session: Session, shot_id: int, *, actor: str) -> int:
    """Move every live frame of the shot, then the shot, to approved (draft and needs-changes go through
    in-review, as the gate requires). Locked and approved frames stay as they are. Returns frames approved."""
    shot = session.get(Shot, shot_id)
    frames: list[Frame] = [f for f in shot.frames if f.deleted_at is None] if shot else []
    moved = 0
    for frame in frames:  # a frame changed since it was approved is approved again, as it is now
        status = status_of(session, frame)
        if status in APPROVED_STATUSES:
            continue
        if status not in ("in_review", CHANGED):
            set_status(session, "frame", frame.id, "in_review", actor=actor)
        set_status(session, "frame", frame.id, "approved", actor=actor)
        moved += 1
    shot_now = status_of(session, shot) if shot is not None else None
    if shot is not None and shot_now not in APPROVED_STATUSES:
        if shot_now not in ("in_review", CHANGED):
            set_status(session, "shot", shot.id, "in_review", actor=actor)
        set_status(session, "shot", shot.id, "approved", actor=actor)
    return moved


def _live_shot(session: Session, shot_id: int) -> Shot:
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    return shot


def _frames_needing_images(shot: Shot, settings: Settings) -> list[Frame]:
    """The shot's frames without an image. For a video model that takes only a start image, none: the clip asks
    for the one image it animates from itself, and the middle and end frames are left unrendered (unpaid), as
    the Clips page says."""
    if not planning.takes_end_frame(settings, settings.active_renderer):
        return []
    return [f for f in planning.live_frames(shot) if f.selected_image_id is None]


def one_click_refusal(session: Session, shot_id: int) -> str | None:
    """Why the acting person may not "approve and render" this shot, in words; None when they may."""
    shot = _live_shot(session, shot_id)
    person = current_principal()
    if not person.can("review"):
        return (f"Your role ({person.role_label or 'none'}) cannot approve frames; ask a reviewer or producer "
                "to approve this shot.")
    if not person.can("render"):
        return (f"Your role ({person.role_label}) may approve but not start renders (they cost money): approve "
                "the shot, and a producer renders its clip.")
    if shot.review_status == "locked":
        return f"Shot {shot.position} is locked; its clip cannot be re-rendered. Unlock it on the Review page."
    frames = planning.live_frames(shot)
    if not frames:
        return f"Shot {shot.position} has no frames to animate."
    unprompted = [str(f.position) for f in frames if f.selected_image_id is None and f.selected_prompt_id is None]
    if unprompted:
        return (f"Frame(s) {', '.join(unprompted)} of shot {shot.position} have no prompt yet: refine them on the "
                "Prompts page first.")
    return None


def estimate_shot(session: Session, shot_id: int, *, settings: Settings,
                  lookups: planning.Lookups | None = None) -> Quote:
    """The price of one click: what `approve_and_render` would queue (the shot's frames that have no image, and
    its clip), asked as the click asks it once the shot is approved; writes nothing. `lookups`: rows read once
    for many shots (`offers`)."""
    shot = _live_shot(session, shot_id)
    approved = settings.model_copy(update={"allow_unapproved_clips": True})  # the click approves before it asks
    batch = request_shot(session, shot.id, frame_ids=[f.id for f in _frames_needing_images(shot, settings)],
                         settings=approved, force=shot.selected_clip_id is not None, dry=True, lookups=lookups)
    file_id = planning.memo(lookups, ("file", shot.id), lambda: source_file_of(session, shot_id=shot.id))
    return quote_batch(session, file_id, batch)


def offers(session: Session, video_id: int, shot_ids: Sequence[int], *, settings: Settings,
           lookups: planning.Lookups | None = None) -> dict[int, Quote | str]:
    """What each of these shots' button offers the acting person: the click's price, or in words why they may not
    click (`one_click_refusal`, or the request's own refusal: a locked frame, no renderer). A page drawing a button
    per shot asks once: the board's rows are read together (`core.jobs.prefetch`), into `lookups` when given (the
    page's other estimates in the same session then read nothing again)."""
    wanted = set(shot_ids)
    lookups = {} if lookups is None else lookups
    board = prefetch.board_shots(session, video_id, lookups)
    shots = [s for s in board if s.id in wanted]
    prefetch.warm(session, board, lookups, jobs=True)
    out: dict[int, Quote | str] = {}
    for shot in shots:
        refusal = one_click_refusal(session, shot.id)
        if refusal is not None:
            out[shot.id] = refusal
            continue
        try:
            out[shot.id] = estimate_shot(session, shot.id, settings=settings, lookups=lookups)
        except StudioError as err:  # the click would be refused the same way
            out[shot.id] = str(err)
    return out


def approve_and_render(session: Session, shot_id: int, *, settings: Settings, actor: str) -> OneClickResult:
    """Approve the shot's frames and the shot as `actor`, queue its missing images, then its clip (waiting for
    them). Raises `GateError` with `one_click_refusal`'s reason before writing anything when it may not run; a
    re-render of a shot whose approved clip exists is forced (that is what the click asks for)."""
    reason = one_click_refusal(session, shot_id)
    if reason is not None:
        raise GateError(reason, category="forbidden" if "Your role" in reason else "gate")
    shot = _live_shot(session, shot_id)
    estimate = estimate_shot(session, shot_id, settings=settings)
    moved = approve_shot(session, shot_id, actor=actor)
    batch = request_shot(session, shot.id, frame_ids=[f.id for f in _frames_needing_images(shot, settings)],
                         settings=settings, force=shot.selected_clip_id is not None, actor=actor)
    *images, clip = batch.jobs
    waits = tuple(clip.depends_on or [])
    queued = tuple(j.id for j in images if j.status in ("pending", "submitted", "running"))
    return OneClickResult(shot_id=shot.id, shot_position=shot.position, frames_approved=moved,
                          image_job_ids=tuple(dict.fromkeys(waits + queued)), clip_job_id=clip.id,
                          estimate=estimate)


def approve_and_render_shots(session: Session, shot_ids: Sequence[int], *, settings: Settings,
                             actor: str) -> list[OneClickResult]:
    """`approve_and_render` for each of these shots, in the caller's one unit of work: a refusal on any of them
    (a gate, the budget) raises and nothing of the others is kept either — the batch is admitted whole."""
    return [approve_and_render(session, shot_id, settings=settings, actor=actor) for shot_id in shot_ids]
