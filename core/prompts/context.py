"""What a frame's prompt is made from, read from the store, and the hashes that make staleness exact.

A request has four hashed parts, stored per version in `PromptVersion.inputs["hashes"]`:
- ``scene``: the frame's scene text (whitespace-normalised, so re-spacing is not a change);
- ``context``: course/video titles, shot summary, position and counts, neighbours' scene text;
- ``style``: the course's style bible;
- ``template``: the template version of the provider that made the prompt.
`request_hash` combines them with provider and model: the same hash means the same request would be sent,
so the existing version can be reused. Staleness compares each stored part with today's and names the
parts that changed. Hand-edited (manual) versions are judged only against the scene text and style bible
they were written beside: a producer's wording does not go stale because a neighbour's text moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError
from core.hashing import stable_hash
from core.models import Frame, PromptVersion, Shot, SourceFile, Storyboard, StyleBible, Video
from core.prompts.providers import current_template_version
from core.prompts.keyframe import keyframe_fields
from core.prompts.style import style_data
from core.prompts.types import RefineRequest, Refiner, StyleBibleData

HASH_PARTS = ("scene", "context", "style", "template")
MANUAL_HASH_PARTS = ("scene", "style")
_PART_LABELS = {"scene": "scene text", "context": "shot context", "style": "style bible",
                "template": "prompt template"}


def part_label(part: str) -> str:
    """A hashed input part in words ("scene text", "style bible" …)."""
    return _PART_LABELS.get(part, part)


def load_live_frame(session: Session, frame_id: int) -> Frame:
    frame = session.get(Frame, frame_id)
    if frame is None or frame.deleted_at is not None:
        raise NotFoundError(f"Frame {frame_id} does not exist (or was deleted)")
    return frame


class FrameLineage(NamedTuple):
    """A frame with everything above it, loaded in one query."""

    frame: Frame
    shot: Shot
    storyboard: Storyboard
    video: Video
    source: SourceFile
    bible: StyleBible | None


def load_lineage(session: Session, frame_id: int) -> FrameLineage:
    """The live frame and its shot, storyboard, video, script and style bible, in one round trip."""
    found = session.execute(
        select(Frame, Shot, Storyboard, Video, SourceFile, StyleBible)
        .join(Shot, Frame.shot_id == Shot.id)
        .join(Storyboard, Shot.storyboard_id == Storyboard.id)
        .join(Video, Storyboard.video_id == Video.id)
        .join(SourceFile, Video.source_file_id == SourceFile.id)
        .outerjoin(StyleBible, StyleBible.source_file_id == SourceFile.id)
        .where(Frame.id == frame_id, Frame.deleted_at.is_(None))
    ).first()
    if found is None:
        raise NotFoundError(f"Frame {frame_id} does not exist (or was deleted)")
    return FrameLineage(*found)


def build_request(session: Session, frame_id: int) -> RefineRequest:
    """The refine request of a frame: its scene text, its place in the storyboard, neighbours and style bible."""
    return request_for(session, load_lineage(session, frame_id))


def request_for(session: Session, lineage: FrameLineage) -> RefineRequest:
    """The refine request of an already loaded frame (batches keep the lineage for the gate check)."""
    frame, shot, storyboard, video, source, bible = lineage
    # One query for the storyboard's live frames in reading order: positions, counts and neighbours.
    rows = session.execute(
        select(Frame.id, Frame.shot_id, Frame.scene_text)
        .join(Shot, Frame.shot_id == Shot.id)
        .where(Shot.storyboard_id == storyboard.id, Shot.deleted_at.is_(None), Frame.deleted_at.is_(None))
        .order_by(Shot.position, Shot.id, Frame.position, Frame.id)
    ).all()
    order = BoardOrder([BoardSlot(r.id, r.shot_id, r.scene_text or "") for r in rows])
    return request_in_board(order, frame, shot, source_file_id=source.id, course_title=source.title or "",
                            video_title=video.title or "", style=style_data(bible))


class FrameFields(Protocol):
    """What a request reads of a frame: an ORM `Frame`, or the columns `core.board` read of one."""

    @property
    def id(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def scene_text(self) -> str: ...
    @property
    def beat(self) -> str: ...


class ShotFields(Protocol):
    """What a request reads of a shot: an ORM `Shot`, or the columns `core.board` read of one."""

    @property
    def id(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def summary(self) -> str: ...


class BoardSlot(NamedTuple):
    """A live frame of a storyboard, in reading order: what a frame's context (neighbours, counts) is made of."""

    frame_id: int
    shot_id: int
    scene_text: str


class BoardOrder:
    """A storyboard's live frames in reading order, indexed once: each frame's place, its shot's place, the
    neighbours' scene text (a whole board's requests are then linear, not quadratic, in its frames)."""

    def __init__(self, slots: Sequence[BoardSlot]) -> None:
        self.slots = list(slots)
        self.index = {s.frame_id: i for i, s in enumerate(self.slots)}
        self.shot_rank: dict[int, int] = {}
        self.in_shot: dict[int, list[int]] = {}
        for s in self.slots:
            self.shot_rank.setdefault(s.shot_id, len(self.shot_rank) + 1)
            self.in_shot.setdefault(s.shot_id, []).append(s.frame_id)


def request_in_board(order: BoardOrder, frame: FrameFields, shot: ShotFields, *, source_file_id: int,
                     course_title: str, video_title: str, style: StyleBibleData) -> RefineRequest:
    """The refine request of one frame among its storyboard's live frames (`order`).

    Pure: `request_for` reads the order for one frame, `core.board` for a whole board at once, so the Prompts page
    and the board report the same staleness."""
    frame_id, shot_id = frame.id, shot.id
    slots = order.slots
    index = order.index.get(frame_id, -1)
    in_shot = order.in_shot.get(shot_id, [])
    previous = slots[index - 1].scene_text if index > 0 else ""
    following = slots[index + 1].scene_text if 0 <= index < len(slots) - 1 else ""
    return RefineRequest(
        frame_id=frame_id,
        source_file_id=source_file_id,
        scene_text=frame.scene_text or "",
        course_title=course_title,
        video_title=video_title,
        shot_summary=shot.summary or "",
        shot_position=order.shot_rank.get(shot_id) or max(1, shot.position),
        shot_count=max(1, len(order.shot_rank)),
        frame_position=(in_shot.index(frame_id) + 1) if frame_id in in_shot else max(1, frame.position),
        frame_count=max(1, len(in_shot)),
        previous_scene_text=previous,
        next_scene_text=following,
        style=style,
    ).model_copy(update=keyframe_fields(frame, shot))


def part_hashes(req: RefineRequest, template_version: str) -> dict[str, str]:
    """The hash of each input part (see the module docstring)."""
    return {
        "scene": stable_hash(" ".join(req.scene_text.split())),
        "context": stable_hash(req.context_fields()),
        "style": _style_hash(req.style),
        "template": template_version,
    }


@lru_cache(maxsize=64)
def _style_hash(style: StyleBibleData) -> str:
    # Every frame of a course shares one bible: a board's staleness hashes it once, not once per frame.
    return stable_hash(style.model_dump())


def request_hash(req: RefineRequest, refiner: Refiner) -> str:
    """Same hash ⇔ the same provider and model would be sent the same request under the same template."""
    return stable_hash({"parts": part_hashes(req, refiner.template_version), "provider": refiner.name,
                        "model": refiner.model})


def manual_hash(req: RefineRequest) -> str:
    parts = part_hashes(req, "")
    return stable_hash({"parts": {k: parts[k] for k in MANUAL_HASH_PARTS}, "provider": "manual"})


def input_snapshot(req: RefineRequest, *, provider: str, model: str, template_version: str) -> dict[str, Any]:
    """What is stored as `PromptVersion.inputs`: the request (no secrets in it) and its part hashes."""
    return {
        "hashes": part_hashes(req, template_version),
        "provider": provider,
        "model": model,
        "template_version": template_version,
        "request": req.model_dump(mode="json"),
    }


@dataclass(frozen=True)
class Staleness:
    """Whether the frame's selected prompt still matches its inputs. `state`: missing | fresh | stale."""

    frame_id: int
    version_id: int | None
    state: str
    changed: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return self.state == "stale"

    def describe(self) -> str:
        if self.state == "missing":
            return "No prompt yet"
        if self.state == "fresh":
            return "Up to date"
        labels = [_PART_LABELS.get(part, part) for part in self.changed]
        return "Stale: " + ", ".join(labels) + " changed since this prompt was made"


class StoredPrompt(NamedTuple):
    """What staleness needs of a stored prompt version (`core.board` reads just these columns)."""

    id: int
    frame_id: int
    origin: str
    provider: str
    model: str
    input_hash: str
    hashes: dict[str, Any] | None  # `inputs["hashes"]`, None when written without part hashes


def version_staleness(version: PromptVersion, req: RefineRequest) -> Staleness:
    """Compare one stored version with a freshly built request of its frame."""
    stored = (version.inputs or {}).get("hashes")
    return stored_staleness(StoredPrompt(version.id, version.frame_id, version.origin, version.provider,
                                         version.model, version.input_hash,
                                         stored if isinstance(stored, dict) else None), req)


def stored_staleness(version: StoredPrompt, req: RefineRequest) -> Staleness:
    """The staleness rule, over values: which hashed parts of `req` differ from those the version was made from."""
    manual = version.origin == "manual"
    current = part_hashes(req, current_template_version(version.provider) or "")
    stored = version.hashes
    if not isinstance(stored, dict):
        # Written without part hashes (e.g. by an older tool): only the overall hash can be compared.
        expected = manual_hash(req) if manual else stable_hash(
            {"parts": current, "provider": version.provider, "model": version.model})
        state = "fresh" if expected == version.input_hash else "stale"
        return Staleness(version.frame_id, version.id, state, () if state == "fresh" else ("inputs",))
    parts = MANUAL_HASH_PARTS if manual else HASH_PARTS
    changed = tuple(p for p in parts if stored.get(p) != current[p])
    return Staleness(version.frame_id, version.id, "stale" if changed else "fresh", changed)


def prompt_staleness(session: Session, frame_id: int) -> Staleness:
    """Is the frame's selected prompt stale, and which inputs changed since it was made?"""
    lineage = load_lineage(session, frame_id)
    frame = lineage.frame
    if frame.selected_prompt_id is None:
        return Staleness(frame_id, None, "missing")
    version = session.get(PromptVersion, frame.selected_prompt_id)
    if version is None:
        return Staleness(frame_id, None, "missing")
    return version_staleness(version, request_for(session, lineage))


def staleness_for_frames(session: Session, frame_ids: list[int]) -> dict[int, Staleness]:
    """Staleness of many frames at once (a storyboard grid); deleted or unknown frames are left out."""
    out: dict[int, Staleness] = {}
    for frame_id in frame_ids:
        try:
            out[frame_id] = prompt_staleness(session, frame_id)
        except NotFoundError:
            continue
    return out
