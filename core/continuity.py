"""Continuity: chained shots. With a script's "chain shots" on, shot N+1's clip starts on shot N's last keyframe
image — one render shared by the two clips, one charge — so the cut does not jump. Breaking the chain on one shot
(`shots.chain_break`) lets that shot start on its own first frame again.

Rules: the chain runs over the live shots of a storyboard, in order; the first shot never chains; a shot chains to
the shot before it unless its `chain_break` is set. A chained shot's own first frame is not rendered for its clip
(its picture is the previous shot's last one).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.errors import NotFoundError
from core.models import Shot, SourceFile, Storyboard, Video


def _file_of_board(session: Session, storyboard_id: int) -> SourceFile | None:
    return session.scalar(select(SourceFile).join(Video, Video.source_file_id == SourceFile.id)
                          .join(Storyboard, Storyboard.video_id == Video.id).where(Storyboard.id == storyboard_id))


def chain_links(shots: Sequence[Shot], *, enabled: bool) -> dict[int, Shot]:
    """Shot id → the shot it starts on (the one before it), for the live `shots` of one board in order."""
    if not enabled:
        return {}
    live = [s for s in shots if s.deleted_at is None]
    return {shot.id: prev for prev, shot in zip(live, live[1:]) if not shot.chain_break}


def chained_from(session: Session, shot: Shot) -> Shot | None:
    """The shot whose last keyframe image this shot's clip starts on; None when it starts on its own."""
    if shot.chain_break:
        return None
    source = _file_of_board(session, shot.storyboard_id)
    if source is None or not source.chain_shots:
        return None
    return session.scalar(select(Shot).where(Shot.storyboard_id == shot.storyboard_id, Shot.deleted_at.is_(None),
                                             Shot.position < shot.position)
                          .order_by(Shot.position.desc(), Shot.id.desc()).limit(1))


def set_chain_shots(session: Session, file_id: int, enabled: bool, *, actor: str = "") -> SourceFile:
    """Turn "chain shots" on or off for a whole script."""
    require("edit")
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    if source.chain_shots != enabled:
        source.chain_shots = enabled
        log_activity(session, "chain_shots.set", actor=actor, source_file_id=file_id, subject_type="source_file",
                     subject_id=file_id, enabled=enabled)
        session.flush()
    return source


def set_chain_break(session: Session, shot_id: int, broken: bool, *, actor: str = "") -> Shot:
    """Break (or mend) the chain into one shot: with it broken, the shot's clip starts on its own first frame."""
    require("edit")
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    if shot.chain_break != broken:
        shot.chain_break = broken
        shot.lock_version += 1
        source = _file_of_board(session, shot.storyboard_id)
        log_activity(session, "chain.broken" if broken else "chain.mended", actor=actor,
                     source_file_id=source.id if source else None, subject_type="shot", subject_id=shot.id)
        session.flush()
    return shot
