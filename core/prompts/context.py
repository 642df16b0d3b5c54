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

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError
from core.hashing import stable_hash
from core.models import Frame, PromptVersion, Shot, SourceFile, Storyboard, StyleBible, Video
from core.prompts.providers import current_template_version
from core.prompts.keyframe import keyframe_fields
from core.prompts.style import style_data
from core.prompts.types import RefineRequest, Refiner

HASH_PARTS = ("scene", "context", "style", "template")
MANUAL_HASH_PARTS = ("scene", "style")
_PART_LABELS = {"scene": "scene text", "context": "shot context", "style": "style bible",
                "template": "prompt template"}


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
        select(Frame.id, Frame.shot_id, Frame.scene_text, Shot.position)
        .join(Shot, Frame.shot_id == Shot.id)
        .where(Shot.storyboard_id == storyboard.id, Shot.deleted_at.is_(None), Frame.deleted_at.is_(None))
        .order_by(Shot.position, Shot.id, Frame.position, Frame.id)
    ).all()
    order = [r.id for r in rows]
    index = order.index(frame.id) if frame.id in order else -1
    in_shot = [r.id for r in rows if r.shot_id == shot.id]
    shot_ids = list(dict.fromkeys(r.shot_id for r in rows))
    previous = rows[index - 1].scene_text if index > 0 else ""
    following = rows[index + 1].scene_text if 0 <= index < len(rows) - 1 else ""
    return RefineRequest(
        frame_id=frame.id,
        source_file_id=source.id,
        scene_text=frame.scene_text or "",
        course_title=source.title or "",
        video_title=video.title or "",
        shot_summary=shot.summary or "",
        shot_position=(shot_ids.index(shot.id) + 1) if shot.id in shot_ids else max(1, shot.position),
        shot_count=max(1, len(shot_ids)),
        frame_position=(in_shot.index(frame.id) + 1) if frame.id in in_shot else max(1, frame.position),
        frame_count=max(1, len(in_shot)),
        previous_scene_text=previous or "",
        next_scene_text=following or "",
        style=style_data(bible),
    ).model_copy(update=keyframe_fields(frame, shot))


def part_hashes(req: RefineRequest, template_version: str) -> dict[str, str]:
    """The hash of each input part (see the module docstring)."""
    return {
        "scene": stable_hash(" ".join(req.scene_text.split())),
        "context": stable_hash(req.context_fields()),
        "style": stable_hash(req.style.model_dump()),
        "template": template_version,
    }


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


def version_staleness(version: PromptVersion, req: RefineRequest) -> Staleness:
    """Compare one stored version with a freshly built request of its frame."""
    manual = version.origin == "manual"
    current = part_hashes(req, current_template_version(version.provider) or "")
    stored = (version.inputs or {}).get("hashes")
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
