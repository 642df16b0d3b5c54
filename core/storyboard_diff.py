"""The difference between two versions of a video's storyboard, as a producer reads it.

Shots are matched by the narration they cover (a plan that keeps a shot's sentences keeps the shot); what is left
over on either side is a shot removed or added, in reading order. A matched shot reports what changed: its size,
camera move, subject, action, location, on-screen text, motion prompt, directions, and each keyframe's text.
Reads two boards; writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, ValidationError
from core.models import Frame, Shot, Storyboard

ShotChange = Literal["same", "changed", "added", "removed"]
_FIELDS = (("shot_size", "size"), ("camera_move", "camera"), ("subject", "subject"), ("action", "action"),
           ("location", "location"), ("on_screen_text", "on-screen text"), ("motion_prompt", "motion"))


@dataclass(frozen=True)
class ShotSnapshot:
    position: int
    narration: str
    fields: dict[str, str]
    directions: tuple[str, ...]
    frames: tuple[str, ...]


@dataclass(frozen=True)
class ShotDiff:
    kind: ShotChange
    old: ShotSnapshot | None
    new: ShotSnapshot | None
    changes: tuple[str, ...] = ()  # "camera: static → push in", "frame 2: … → …"

    @property
    def label(self) -> str:
        if self.old is not None and self.new is not None:
            moved = f" (was shot {self.old.position})" if self.old.position != self.new.position else ""
            return f"Shot {self.new.position}{moved}"
        snap = self.new or self.old
        assert snap is not None
        return f"Shot {snap.position}"


@dataclass(frozen=True)
class StoryboardDiff:
    old_version: int
    new_version: int
    old_planner: str
    new_planner: str
    shots: tuple[ShotDiff, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        out = {"same": 0, "changed": 0, "added": 0, "removed": 0}
        for shot in self.shots:
            out[shot.kind] += 1
        return out

    def summary(self) -> str:
        c = self.counts()
        if not (c["changed"] or c["added"] or c["removed"]):
            return f"Versions {self.old_version} and {self.new_version} show the same shots."
        parts = [f"{n} {word}" for word, n in (("changed", c["changed"]), ("added", c["added"]),
                                               ("removed", c["removed"]), ("unchanged", c["same"])) if n]
        return f"Version {self.old_version} → {self.new_version}: " + ", ".join(parts) + " shot(s)."


def _norm(text: str) -> str:
    return " ".join(text.split())


def _snapshots(session: Session, storyboard_id: int) -> list[ShotSnapshot]:
    shots = list(session.scalars(select(Shot).where(Shot.storyboard_id == storyboard_id, Shot.deleted_at.is_(None))
                                 .order_by(Shot.position, Shot.id)))
    frames: dict[int, list[str]] = {}
    if shots:
        for shot_id, text in session.execute(
                select(Frame.shot_id, Frame.scene_text).where(Frame.shot_id.in_([s.id for s in shots]),
                                                              Frame.deleted_at.is_(None))
                .order_by(Frame.shot_id, Frame.position, Frame.id)).tuples():
            frames.setdefault(shot_id, []).append(_norm(text))
    return [ShotSnapshot(position=n, narration=_norm(s.narration or ""),
                         fields={name: _norm(getattr(s, name) or "") for name, _label in _FIELDS},
                         directions=tuple(_norm(str(d)) for d in s.directions or []),
                         frames=tuple(frames.get(s.id, [])))
            for n, s in enumerate(shots, start=1)]


def _short(text: str, limit: int = 60) -> str:
    return (text if len(text) <= limit else text[: limit - 1] + "…") or "(none)"


def _changes(old: ShotSnapshot, new: ShotSnapshot) -> tuple[str, ...]:
    out = [f"{label}: {_short(old.fields[name])} → {_short(new.fields[name])}"
           for name, label in _FIELDS if old.fields[name] != new.fields[name]]
    if old.directions != new.directions:
        out.append(f"directions: {len(old.directions)} → {len(new.directions)}")
    if len(old.frames) != len(new.frames):
        out.append(f"keyframes: {len(old.frames)} → {len(new.frames)}")
    for n, (a, b) in enumerate(zip(old.frames, new.frames), start=1):
        if a != b:
            out.append(f"keyframe {n}: {_short(a)} → {_short(b)}")
    return tuple(out)


def diff_storyboards(session: Session, old_id: int, new_id: int) -> StoryboardDiff:
    """What changed from storyboard `old_id` to `new_id` (two versions of one video)."""
    old_board, new_board = session.get(Storyboard, old_id), session.get(Storyboard, new_id)
    if old_board is None or new_board is None:
        raise NotFoundError(f"Storyboard {old_id if old_board is None else new_id} does not exist")
    if old_board.video_id != new_board.video_id:
        raise ValidationError("Only two versions of the same video's storyboard can be compared")
    old, new = _snapshots(session, old_id), _snapshots(session, new_id)
    matcher = SequenceMatcher(a=[s.narration for s in old], b=[s.narration for s in new], autojunk=False)
    shots: list[ShotDiff] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for a, b in zip(old[i1:i2], new[j1:j2]):
                changes = _changes(a, b)
                shots.append(ShotDiff("changed" if changes else "same", a, b, changes))
            continue
        shots.extend(ShotDiff("removed", a, None) for a in old[i1:i2])
        shots.extend(ShotDiff("added", None, b) for b in new[j1:j2])
    return StoryboardDiff(old_board.version, new_board.version, old_board.planner, new_board.planner, tuple(shots))
