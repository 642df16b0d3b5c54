"""Storing a shot plan as a storyboard version: the one path by which boards reach the database.

A plan (`core.planner.types.ShotPlanReply`, from the offline builder or an AI planner) says which sentences of a
video's narration each shot covers and what each keyframe shows. `board_from_plan` turns it, with the video's
narration, directions and scene marks, into the rows to store (pure); `store_plan` checks it, then writes it as the
video's new current version; `insert_boards` writes many boards in a handful of multi-row INSERTs (ingestion).

How a plan becomes rows:

- a shot's narration is the stretch of the body from its first sentence's start to its last sentence's end (stored
  as a span, not a copy);
- a shot carries the directions that stand in its stretch of the script: a direction at offset `at` belongs to the
  shot whose narration starts last at or before `at` (a direction before the first sentence goes to shot 1);
- a shot's `scene` is the number of scene marks at or before its first sentence (None when the video has none);
- each keyframe with a description is a frame: `scene_text` its description, `beat` its own narration (the
  planner's, else the shot's sentences shared out over its keyframes in order, one stretch each).

`plan_check` is `core.planner.validate.plan_problems` plus what a board needs beyond a valid partition: no two
frames of a video with the same text. Nothing is written when it finds a problem (`PlanError`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.errors import NotFoundError, PlanError, ValidationError
from core.models import Frame, Shot, Storyboard, Video, utcnow
from core.planner.types import PlannedShot, ShotPlanReply
from core.planner.validate import normalized, plan_problems
from core.sentences import Sentences, locate_sentences
from core.storyboard import summarize

Density = Literal["fixed", "paced"]
DENSITIES: tuple[Density, ...] = ("fixed", "paced")
# The layout rules above; stored with every board they write (old boards keep "1", the copy-the-narration builder).
BOARD_BUILDER_VERSION = "2"


@dataclass(frozen=True)
class FrameRow:
    scene_text: str
    beat: str


@dataclass(frozen=True)
class ShotRow:
    summary: str
    span: tuple[int, int]  # body[start:end] is the shot's narration
    directions: tuple[str, ...]
    scene: int | None
    frames: tuple[FrameRow, ...]
    shot_size: str = ""
    camera_move: str = ""
    subject: str = ""
    action: str = ""
    location: str = ""
    on_screen_text: str = ""
    motion_prompt: str = ""


@dataclass(frozen=True)
class BoardMeta:
    """How a board was made: stored on its `storyboards` row."""

    planner: str = "offline"
    model: str = "offline"
    template_version: str = ""
    density: str = "fixed"  # one of DENSITIES
    pace_s: float | None = None
    input_hash: str = ""
    note: str = ""
    shots_requested: int | None = None  # None: the number of shots planned
    frames_requested: int | None = None  # None: the most keyframes of any shot


@dataclass(frozen=True)
class BoardRows:
    meta: BoardMeta
    shots: tuple[ShotRow, ...]

    @property
    def frame_count(self) -> int:
        return sum(len(s.frames) for s in self.shots)


# ---- pure: plan → rows ----------------------------------------------------------------------------------------


def plan_check(reply: ShotPlanReply, sentence_count: int) -> list[str]:
    """Every reason `reply` cannot be stored as a board (empty when it can)."""
    problems = plan_problems(reply, sentence_count)
    seen: dict[str, tuple[int, int]] = {}
    for s, shot in enumerate(reply.shots, start=1):
        for k, key in enumerate(shot.keyframes, start=1):
            text = " ".join(key.description.split()).casefold()
            if not text:
                continue
            if text in seen:
                a, b = seen[text]
                problems.append(f"shot {s} keyframe {k}: the same picture as shot {a} keyframe {b}")
            else:
                seen[text] = (s, k)
    return problems


def board_from_plan(
    body: str,
    reply: ShotPlanReply,
    *,
    directions: Sequence[dict[str, Any]] = (),
    scenes: Sequence[dict[str, Any]] = (),
    meta: BoardMeta | None = None,
    sentences: Sentences | None = None,
) -> BoardRows:
    """The rows of a checked plan (see the module docstring). `directions` / `scenes`: the video's stored JSON
    ([{"text", "at", …}], [{"at", "title"}]); `sentences`: `locate_sentences(body)` when the caller has it."""
    located = sentences if sentences is not None else locate_sentences(body)
    plan = normalized(reply)
    starts = [located.starts[shot.first_sentence - 1] for shot in plan.shots]
    owned: list[list[str]] = [[] for _ in plan.shots]
    for d in directions:
        text = str(d.get("text", "")).strip()
        if text:
            owned[max(0, bisect_right(starts, int(d.get("at", 0))) - 1)].append(text)
    scene_starts = sorted(int(m.get("at", 0)) for m in scenes)
    shots = []
    for number, shot in enumerate(plan.shots):
        a, b = shot.first_sentence - 1, shot.last_sentence
        shots.append(ShotRow(
            summary=summarize(located.texts[a]),
            span=(located.starts[a], located.ends[b - 1]),
            directions=tuple(owned[number]),
            scene=bisect_right(scene_starts, starts[number]) if scene_starts else None,
            frames=_frames(shot, located.texts[a:b]),
            shot_size=shot.shot_size, camera_move=shot.camera_move, subject=shot.subject, action=shot.action,
            location=shot.location, on_screen_text=shot.on_screen_text, motion_prompt=shot.motion_prompt,
        ))
    return BoardRows(meta=meta or BoardMeta(), shots=tuple(shots))


def _frames(shot: PlannedShot, sentences: Sequence[str]) -> tuple[FrameRow, ...]:
    keys = [k for k in shot.keyframes if k.description.strip()]
    beats = share_out(sentences, len(keys))
    return tuple(FrameRow(k.description.strip(), k.beat.strip() or beat) for k, beat in zip(keys, beats))


def share_out(sentences: Sequence[str], parts: int) -> list[str]:
    """`sentences` cut into `parts` contiguous stretches in order, balanced by length; when there are fewer
    sentences than parts, one sentence each and empty beats after (a beat is never repeated)."""
    n = len(sentences)
    if parts <= 0:
        return []
    if n <= parts:
        return [*sentences, *[""] * (parts - n)]
    weights = [len(s) + 1 for s in sentences]
    total = sum(weights)
    cuts: list[int] = []
    running = 0
    for i in range(n - 1):
        running += weights[i]
        need = parts - len(cuts) - 1
        # Cut before sentence i+1 when its midpoint lies past the next part's boundary, or when every sentence
        # left is needed to give each remaining part one.
        if need and ((2 * running + weights[i + 1]) * parts >= 2 * total * (len(cuts) + 1) or n - i - 1 == need):
            cuts.append(i + 1)
    bounds = [0, *cuts, n]
    return [" ".join(sentences[x:y]) for x, y in zip(bounds, bounds[1:])]


# ---- writing ---------------------------------------------------------------------------------------------------


def store_plan(
    session: Session,
    video_id: int,
    reply: ShotPlanReply,
    *,
    planner: str,
    model: str,
    template_version: str,
    density: str,
    pace_s: float | None,
    input_hash: str,
    note: str = "",
    actor: str = "",
    shots_requested: int | None = None,
    frames_requested: int | None = None,
) -> Storyboard:
    """Store a plan as the video's new current storyboard version; the older versions stay as they were.

    Raises `PlanError` (every problem listed, nothing written) when the plan does not partition the narration,
    leaves the vocabulary or shows one picture twice; `ValidationError` for an unknown density."""
    require("edit")
    if density not in DENSITIES:
        raise ValidationError(f"Storyboard density must be one of {', '.join(DENSITIES)} (got {density!r}).")
    if pace_s is not None and pace_s <= 0:
        raise ValidationError(f"Seconds per frame must be more than 0 (got {pace_s}).")
    # Lock the video row (PostgreSQL) so two writers of one video queue up instead of racing for a version.
    video = session.scalar(select(Video).where(Video.id == video_id).with_for_update())
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist.")
    located = locate_sentences(video.body)
    problems = plan_check(reply, len(located.texts))
    if problems:
        raise PlanError(problems, video_id=video_id)
    meta = BoardMeta(planner=planner, model=model, template_version=template_version,
                     density=density, pace_s=pace_s, input_hash=input_hash, note=note,
                     shots_requested=shots_requested, frames_requested=frames_requested)
    rows = board_from_plan(video.body, reply, directions=video.directions or [], scenes=video.scenes or [],
                           meta=meta, sentences=located)
    latest = session.scalar(select(func.max(Storyboard.version)).where(Storyboard.video_id == video_id)) or 0
    clear_current(session, video_id)
    board_id = insert_boards(session, [(video_id, latest + 1, rows)])[video_id]
    board = session.get(Storyboard, board_id)
    assert board is not None
    log_activity(session, "plan_storyboard", actor=actor, source_file_id=video.source_file_id,
                 subject_type="video", subject_id=video_id, version=board.version, planner=planner, model=model,
                 density=density, shots=len(rows.shots), frames=rows.frame_count)
    return board


def clear_current(session: Session, video_id: int) -> None:
    """Flip a video's current version off (flushed: the partial unique index allows one current row)."""
    for old in session.scalars(
        select(Storyboard).where(Storyboard.video_id == video_id, Storyboard.is_current.is_(True))
    ):
        old.is_current = False
    session.flush()


def insert_boards(session: Session, items: Sequence[tuple[int, int, BoardRows]]) -> dict[int, int]:
    """Insert current storyboards (video id, version, rows) with their shots and frames; returns video id →
    storyboard id. The caller has cleared the videos' previous current versions.

    Core multi-row INSERTs, one per table, then a SELECT of the new ids by their natural keys: the ORM's unit of
    work would insert row by row on SQLite, which made storing a 30-video script cost more than parsing it."""
    if not items:
        return {}
    now = utcnow()
    session.execute(insert(Storyboard), [
        {"video_id": vid, "version": version, "is_current": True,
         "shots_requested": rows.meta.shots_requested or len(rows.shots),
         "frames_requested": rows.meta.frames_requested or max((len(s.frames) for s in rows.shots), default=1),
         "builder_version": BOARD_BUILDER_VERSION, "density": rows.meta.density, "pace_s": rows.meta.pace_s,
         "planner": rows.meta.planner, "planner_model": rows.meta.model,
         "template_version": rows.meta.template_version, "plan_input_hash": rows.meta.input_hash,
         "note": rows.meta.note, "created_at": now}
        for vid, version, rows in items
    ])
    wanted = {(vid, version) for vid, version, _rows in items}
    board_of = {
        vid: bid for vid, bid, version in session.execute(
            select(Storyboard.video_id, Storyboard.id, Storyboard.version)
            .where(Storyboard.video_id.in_([vid for vid, _version, _rows in items]))
        ).tuples() if (vid, version) in wanted
    }
    shot_rows = [
        {"storyboard_id": board_of[vid], "position": p, "summary": shot.summary, "narration_text": "",
         "narration_start": shot.span[0], "narration_end": shot.span[1], "directions": list(shot.directions),
         "scene": shot.scene, "shot_size": shot.shot_size, "camera_move": shot.camera_move, "subject": shot.subject,
         "action": shot.action, "location": shot.location, "on_screen_text": shot.on_screen_text,
         "motion_prompt": shot.motion_prompt}
        for vid, _version, rows in items for p, shot in enumerate(rows.shots, start=1)
    ]
    if not shot_rows:
        return board_of
    session.execute(insert(Shot), shot_rows)
    shot_ids = {
        (bid, pos): sid for sid, bid, pos in session.execute(
            select(Shot.id, Shot.storyboard_id, Shot.position).where(Shot.storyboard_id.in_(list(board_of.values())))
        ).tuples()
    }
    frame_rows = [
        {"shot_id": shot_ids[(board_of[vid], p)], "position": f, "scene_text": frame.scene_text, "beat": frame.beat}
        for vid, _version, rows in items
        for p, shot in enumerate(rows.shots, start=1)
        for f, frame in enumerate(shot.frames, start=1)
    ]
    if frame_rows:
        session.execute(insert(Frame), frame_rows)
    return board_of
