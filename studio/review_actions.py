"""Review shortcuts for the pages: approve a shot's frames in one click (each step is a core transition)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.models import Frame, Shot
from core.review import APPROVED_STATUSES, set_status


def approve_shot(session: Session, shot_id: int, *, actor: str) -> int:
    """Move every live frame of the shot, then the shot, to approved (draft and needs-changes go through
    in-review, as the gate requires). Locked and approved frames stay as they are. Returns frames approved."""
    shot = session.get(Shot, shot_id)
    frames: list[Frame] = [f for f in shot.frames if f.deleted_at is None] if shot else []
    moved = 0
    for frame in frames:
        if frame.review_status in APPROVED_STATUSES:
            continue
        if frame.review_status != "in_review":
            set_status(session, "frame", frame.id, "in_review", actor=actor)
        set_status(session, "frame", frame.id, "approved", actor=actor)
        moved += 1
    if shot is not None and shot.review_status not in APPROVED_STATUSES:
        if shot.review_status != "in_review":
            set_status(session, "shot", shot.id, "in_review", actor=actor)
        set_status(session, "shot", shot.id, "approved", actor=actor)
    return moved
