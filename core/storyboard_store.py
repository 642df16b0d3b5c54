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

import json
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.board_layout import Density, Layout, layout_board
from core.db import lock_videos_for_write
from core.errors import NotFoundError, PlanError, ValidationError
from core.models import Base, Frame, Shot, Storyboard, Video, utcnow
from core.planner.offline import OfflinePlanner, offline_shots
from core.planner.types import PlannedShot, ShotPlanReply
from core.planner.validate import normalized, plan_problems
from core.sentences import Sentences, locate_sentences, summarize
from core.settings import Settings

DENSITIES = ("fixed", "paced")
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


def plan_check(reply: ShotPlanReply, sentence_count: int, *, max_keyframes: int | None = None) -> list[str]:
    """Every reason `reply` cannot be stored as a board (empty when it can)."""
    problems = plan_problems(reply, sentence_count, max_keyframes=max_keyframes)
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
    owned, scene_of = _place(located, [shot.first_sentence - 1 for shot in plan.shots], directions, scenes)
    shots = []
    for number, shot in enumerate(plan.shots):
        a, b = shot.first_sentence - 1, shot.last_sentence
        shots.append(ShotRow(
            summary=summarize(located.texts[a]),
            span=(located.starts[a], located.ends[b - 1]),
            directions=owned[number],
            scene=scene_of[number],
            frames=_frames(shot, located.texts[a:b]),
            shot_size=shot.shot_size, camera_move=shot.camera_move, subject=shot.subject, action=shot.action,
            location=shot.location, on_screen_text=shot.on_screen_text, motion_prompt=shot.motion_prompt,
        ))
    return BoardRows(meta=meta or BoardMeta(), shots=tuple(shots))


def _place(located: Sentences, firsts: Sequence[int], directions: Sequence[dict[str, Any]],
           scenes: Sequence[dict[str, Any]]) -> tuple[list[tuple[str, ...]], list[int | None]]:
    """Per shot (given its first sentence's index): the directions in its stretch of the script, its scene."""
    starts = [located.starts[i] for i in firsts]
    owned: list[list[str]] = [[] for _ in firsts]
    for d in directions:
        text = str(d.get("text", "")).strip()
        if text:
            owned[max(0, bisect_right(starts, int(d.get("at", 0))) - 1)].append(text)
    marks = sorted(int(m.get("at", 0)) for m in scenes)
    return [tuple(o) for o in owned], [bisect_right(marks, at) if marks else None for at in starts]


def _frames(shot: PlannedShot, sentences: Sequence[str]) -> tuple[FrameRow, ...]:
    keys = [k for k in shot.keyframes if k.description.strip()]
    if all(k.beat for k in keys):  # the planner gave every beat (the offline one always does)
        return tuple(FrameRow(k.description.strip(), k.beat.strip()) for k in keys)
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


@dataclass(frozen=True)
class Coverage:
    """How a board's shots cover the video's narration: `missing` sentences in no shot, `repeated` sentences
    narrated more often than the script says them (each once per extra time), `sentences` the script's count."""

    sentences: int
    missing: tuple[str, ...]
    repeated: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return not self.missing and not self.repeated


def narration_coverage(body: str, narrations: Sequence[str]) -> Coverage:
    """Compare the script's sentences with the shots' (whitespace-insensitive), as multisets, in script order."""
    def norm(text: str) -> str:
        return " ".join(text.split())

    said = [norm(x) for x in locate_sentences(body).texts]
    shown = Counter(norm(x) for n in narrations for x in locate_sentences(n).texts)
    script = Counter(said)
    missing: list[str] = []
    left = Counter(shown)
    for x in said:
        if left[x] > 0:
            left[x] -= 1
        else:
            missing.append(x)
    repeated = [x for x, k in (shown - script).items() for _ in range(k)]
    return Coverage(len(said), tuple(missing), tuple(repeated))


# ---- writing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanToStore:
    """One video's checked-or-not plan and how it was made, for `store_plans`."""

    video_id: int
    reply: ShotPlanReply
    planner: str
    model: str
    template_version: str
    density: str
    pace_s: float | None
    input_hash: str
    note: str = ""
    shots_requested: int | None = None
    frames_requested: int | None = None


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
    return store_plans(session, [PlanToStore(
        video_id, reply, planner=planner, model=model, template_version=template_version, density=density,
        pace_s=pace_s, input_hash=input_hash, note=note, shots_requested=shots_requested,
        frames_requested=frames_requested)], actor=actor)[0]


def store_plans(session: Session, plans: Sequence[PlanToStore], *, actor: str = "") -> list[Storyboard]:
    """Store plans of several videos (each video once), each as its video's new current version, in a constant
    number of statements: a batch writing the videos that finished meanwhile pays one round of INSERTs, not one
    per video (on SQLite the single writer's time is the batch's tail). All or nothing: the first plan that fails
    its checks raises `PlanError` for its video and none is written. Returned in the order given."""
    require("edit")
    if not plans:
        return []
    for plan in plans:
        if plan.density not in DENSITIES:
            raise ValidationError(f"Storyboard density must be one of {', '.join(DENSITIES)} "
                                  f"(got {plan.density!r}).")
        if plan.pace_s is not None and plan.pace_s <= 0:
            raise ValidationError(f"Seconds per frame must be more than 0 (got {plan.pace_s}).")
    ids = [plan.video_id for plan in plans]
    if len(set(ids)) != len(ids):
        raise ValidationError("Each video can take one new plan at a time; the same video was given twice.")
    # Lock the video rows (PostgreSQL; SQLite's write lock), in id order so two batches never deadlock: two writers
    # of one video queue up instead of racing for a version number.
    lock_videos_for_write(session, *ids)
    videos = {v.id: v for v in session.scalars(select(Video).where(Video.id.in_(ids)))}
    items: list[tuple[int, int, BoardRows]] = []
    latest = {vid: version for vid, version in session.execute(
        select(Storyboard.video_id, func.max(Storyboard.version)).where(Storyboard.video_id.in_(ids))
        .group_by(Storyboard.video_id)).tuples()}
    for plan in plans:
        video = videos.get(plan.video_id)
        if video is None:
            raise NotFoundError(f"Video {plan.video_id} does not exist.")
        located = locate_sentences(video.body)
        problems = plan_check(plan.reply, len(located.texts))
        if problems:
            raise PlanError(problems, video_id=plan.video_id)
        meta = BoardMeta(planner=plan.planner, model=plan.model, template_version=plan.template_version,
                         density=plan.density, pace_s=plan.pace_s, input_hash=plan.input_hash, note=plan.note,
                         shots_requested=plan.shots_requested, frames_requested=plan.frames_requested)
        rows = board_from_plan(video.body, plan.reply, directions=video.directions or [],
                               scenes=video.scenes or [], meta=meta, sentences=located)
        items.append((plan.video_id, (latest.get(plan.video_id) or 0) + 1, rows))
    clear_current(session, *ids)
    board_ids = insert_boards(session, items)
    boards = {b.id: b for b in session.scalars(select(Storyboard).where(Storyboard.id.in_(list(board_ids.values()))))}
    for plan, (_vid, version, rows) in zip(plans, items):
        log_activity(session, "plan_storyboard", actor=actor, source_file_id=videos[plan.video_id].source_file_id,
                     subject_type="video", subject_id=plan.video_id, version=version, planner=plan.planner,
                     model=plan.model, density=plan.density, shots=len(rows.shots), frames=rows.frame_count)
    return [boards[board_ids[plan.video_id]] for plan in plans]


def table_of(model: type[Base]) -> Table:
    """A model's Core table (inserting into it skips the ORM's bulk-insert set-up)."""
    return model.metadata.tables[model.__tablename__]


def insert_plain_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany of `rows` straight to the database driver: no per-row processing of parameters, defaults
    or types by SQLAlchemy (which cost more than the rows for a script's hundreds of frames). Every row has the
    same keys, is complete (defaults given) and holds plain values (JSON already encoded)."""
    if not rows:
        return
    conn = session.connection()
    quote = conn.dialect.identifier_preparer.quote
    columns = list(rows[0])
    style = conn.dialect.paramstyle
    params: Any
    if style in ("named", "pyformat"):
        marks = [f":{c}" if style == "named" else f"%({c})s" for c in columns]
        params = list(rows)
    else:
        marks = ["?" if style == "qmark" else "%s" if style == "format" else f":{i}"
                 for i, _ in enumerate(columns, start=1)]
        params = [tuple(row[c] for c in columns) for row in rows]
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(marks)})")
    conn.exec_driver_sql(sql, params)


def board_notes(session: Session, file_id: int) -> dict[int, str]:
    """The note of each video's current board (why it departs from what was asked), by video id."""
    return {vid: note for vid, note in session.execute(
        select(Storyboard.video_id, Storyboard.note).join(Video)
        .where(Video.source_file_id == file_id, Storyboard.is_current.is_(True))).tuples()}


def clear_current(session: Session, *video_ids: int) -> None:
    """Flip the videos' current versions off, at once (the partial unique index allows one current row each).
    One UPDATE; storyboards this session has loaded see the change (synchronised in Python: plain columns)."""
    if not video_ids:
        return
    session.execute(update(Storyboard).where(Storyboard.video_id.in_(video_ids), Storyboard.is_current.is_(True))
                    .values(is_current=False).execution_options(synchronize_session="evaluate"))


def insert_boards(session: Session, items: Sequence[tuple[int, int, BoardRows]]) -> dict[int, int]:
    """Insert current storyboards (video id, version, rows) with their shots and frames; returns video id →
    storyboard id. The caller has cleared the videos' previous current versions.

    Core multi-row INSERTs, one per table, then a SELECT of the new ids by their natural keys: the ORM's unit of
    work would insert row by row on SQLite, which made storing a 30-video script cost more than parsing it."""
    if not items:
        return {}
    now = utcnow()
    # Core inserts into the tables (not the ORM's bulk path, whose per-statement set-up cost more than the rows).
    session.execute(insert(table_of(Storyboard)), [
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
        {"storyboard_id": board_of[vid], "position": p, "summary": shot.summary, "narration": "",
         "narration_start": shot.span[0], "narration_end": shot.span[1], "directions": list(shot.directions),
         "scene": shot.scene, "shot_size": shot.shot_size, "camera_move": shot.camera_move, "subject": shot.subject,
         "action": shot.action, "location": shot.location, "on_screen_text": shot.on_screen_text,
         "motion_prompt": shot.motion_prompt}
        for vid, _version, rows in items for p, shot in enumerate(rows.shots, start=1)
    ]
    if not shot_rows:
        return board_of
    insert_plain_rows(session, table_of(Shot), [
        {**row, "directions": json.dumps(row["directions"], ensure_ascii=False), "review_status": "draft",
         "lock_version": 1, "chain_break": False} for row in shot_rows])
    shot_ids = {
        (bid, pos): sid for sid, bid, pos in session.execute(
            select(Shot.id, Shot.storyboard_id, Shot.position).where(Shot.storyboard_id.in_(list(board_of.values())))
        ).tuples()
    }
    frame_rows = [
        {"shot_id": shot_ids[(board_of[vid], p)], "position": f, "scene_text": frame.scene_text, "beat": frame.beat,
         "review_status": "draft", "lock_version": 1}
        for vid, _version, rows in items
        for p, shot in enumerate(rows.shots, start=1)
        for f, frame in enumerate(shot.frames, start=1)
    ]
    if frame_rows:
        insert_plain_rows(session, table_of(Frame), frame_rows)
    return board_of


# Columns a frozen copy of a shot keeps (the plan and narration; never takes, reviews or locks).
_SHOT_COPY = ("summary", "narration_start", "narration_end", "scene", "shot_size", "camera_move", "subject",
              "action", "location", "on_screen_text", "motion_prompt", "chain_break")
HAND_EDIT = "hand"  # the `planner` of a version made by editing the board by hand


@dataclass(frozen=True)
class ShotCopy:
    """A live shot as it stood, with its live frames' (scene text, beat) in order: what a frozen version keeps."""

    values: dict[str, Any]
    narration_text: str
    directions: tuple[Any, ...]
    frames: tuple[tuple[str, str], ...]


def copy_of_shot(shot: Shot, frames: Sequence[Frame]) -> ShotCopy:
    return ShotCopy({c: getattr(shot, c) for c in _SHOT_COPY}, shot.narration_text or "",
                    tuple(shot.directions or ()), tuple((f.scene_text, f.beat) for f in frames))


def version_hand_edit(session: Session, board: Storyboard, before: Sequence[ShotCopy], *, actor: str = "") -> int:
    """Make a hand edit of the current `board` a storyboard version of its own: `board` (whose rows were just
    edited in place, so its frames keep their prompts, takes and reviews) takes the next version number, and
    `before` — its shots and frames as they stood — is stored as the version it was, not current, with the
    planner, model and note it had. `core.storyboard_diff` then shows the edit like any two versions. The caller
    holds the video's row lock. Returns the frozen copy's storyboard id."""
    old_version = board.version
    latest = session.scalar(select(func.max(Storyboard.version)).where(Storyboard.video_id == board.video_id)) or 0
    copy = Storyboard(video_id=board.video_id, version=old_version, is_current=False,
                      shots_requested=board.shots_requested, frames_requested=board.frames_requested,
                      builder_version=board.builder_version, density=board.density, pace_s=board.pace_s,
                      planner=board.planner, planner_model=board.planner_model,
                      template_version=board.template_version, plan_input_hash=board.plan_input_hash,
                      note=board.note, created_at=board.created_at)
    # Free the old number first (unique per video); the edited board keeps its plan's input hash, so planning
    # the same inputs again reuses it (the hand edits stay) instead of paying again.
    board.version, board.created_at = latest + 1, utcnow()
    board.planner, board.planner_model, board.template_version = HAND_EDIT, actor or "", ""
    board.note = f"Edited by hand from version {old_version}."
    session.flush()
    session.add(copy)
    session.flush()
    insert_plain_rows(session, table_of(Shot), [
        {"storyboard_id": copy.id, "position": p, **shot.values, "narration": shot.narration_text,
         "directions": json.dumps(list(shot.directions), ensure_ascii=False), "review_status": "draft",
         "lock_version": 1} for p, shot in enumerate(before, start=1)])
    ids = {pos: sid for sid, pos in session.execute(
        select(Shot.id, Shot.position).where(Shot.storyboard_id == copy.id)).tuples()}
    insert_plain_rows(session, table_of(Frame), [
        {"shot_id": ids[p], "position": f, "scene_text": text, "beat": beat, "review_status": "draft",
         "lock_version": 1}
        for p, shot in enumerate(before, start=1) for f, (text, beat) in enumerate(shot.frames, start=1)])
    return copy.id


def choose_density(settings: Settings, *, density: str | None = None, shots: int | None = None,
                   frames: int | None = None, pace_s: float | None = None) -> Density:
    """The density asked for, the settings filling the gaps: a pace alone means "paced"; no density and no pace
    means paced when `STORYBOARD_PACE_S` is set, else fixed `SHOTS_PER_VIDEO` × `FRAMES_PER_SHOT`."""
    kind = density or ("paced" if pace_s is not None or settings.storyboard_pace_s is not None else "fixed")
    pace = pace_s if pace_s is not None else settings.storyboard_pace_s
    if kind == "paced" and pace is None:
        raise ValidationError("A paced storyboard needs the seconds of narration per frame (--pace S, or set "
                              "STORYBOARD_PACE_S).")
    return Density(kind=kind, shots=shots if shots is not None else settings.shots_per_video,
                   frames=frames if frames is not None else settings.frames_per_shot,
                   pace_s=pace if kind == "paced" else None, wpm=settings.speaking_rate_wpm)


# ---- the offline board ------------------------------------------------------------------------------------------


def place_marks(starts: Sequence[int], directions: Sequence[dict[str, Any]],
                scenes: Sequence[dict[str, Any]]) -> tuple[list[int], list[tuple[int, str]]]:
    """Where the script's marks stand among the sentences starting at `starts` (0-based): the sentence each scene
    opens with, and for each direction (in order, its text stripped) the sentence it is shown with. One rule for
    the offline board and for what a planner is told."""
    scene_starts = [bisect_left(starts, int(m.get("at", 0))) for m in scenes if isinstance(m, dict)]
    placed = [(max(0, bisect_right(starts, int(d.get("at", 0))) - 1), str(d.get("text", "")).strip())
              for d in directions if isinstance(d, dict)]
    return scene_starts, placed


def offline_board(body: str, density: Density, *, directions: Sequence[dict[str, Any]] = (),
                  scenes: Sequence[dict[str, Any]] = (), location: str = "",
                  sentences: Sentences | None = None) -> BoardRows:
    """The deterministic board of a video (`core.board_layout` rules), ready to store. A video without narration
    gets one empty frame showing its directions, with a note."""
    located = sentences if sentences is not None else locate_sentences(body)
    meta = BoardMeta(planner=OfflinePlanner.name, model=OfflinePlanner.model,
                     template_version=OfflinePlanner.template_version, density=density.kind,
                     pace_s=density.pace_s if density.kind == "paced" else None,
                     shots_requested=density.shots, frames_requested=density.frames)
    texts = [str(d.get("text", "")).strip() for d in directions]
    if not located.texts:
        shown = "; ".join(t for t in texts if t)
        return BoardRows(meta=replace(meta, note="This video has no narration: add frames by hand."), shots=(
            ShotRow(summary="", span=(0, 0), directions=tuple(t for t in texts if t), scene=None,
                    frames=(FrameRow(scene_text=shown, beat=""),)),))
    starts = located.starts
    scene_starts, placed = place_marks(starts, directions, scenes)
    cut, note = offline_shots(located.texts, density, scene_starts=scene_starts, directions=placed)
    owned, scene_of = _place(located, [shot.first for shot in cut], directions, scenes)
    ends, summaries = located.ends, [shot.subject for shot in cut]
    return BoardRows(meta=replace(meta, note=note), shots=tuple(
        ShotRow(summary=summaries[n], span=(starts[shot.first], ends[shot.last - 1]), directions=owned[n],
                scene=scene_of[n], frames=tuple(FrameRow(d, b) for d, b in shot.keyframes),
                shot_size=shot.shot_size, camera_move=shot.camera_move, subject=shot.subject, location=location,
                motion_prompt=shot.motion_prompt)
        for n, shot in enumerate(cut)))


def preview_layout(body: str, density: Density, *, scenes: Sequence[dict[str, Any]] = ()) -> Layout:
    """How many shots and frames a video would get (the layout only: nothing is stored, no plan is dressed)."""
    located = locate_sentences(body)
    return layout_board(located.texts, density,
                        scene_starts=[bisect_left(located.starts, int(m.get("at", 0))) for m in scenes])


def rebuild_board(session: Session, video_id: int, density: Density, *, actor: str = "") -> Storyboard:
    """Cut the video again with the offline builder: a new current version; the old versions stay reachable."""
    require("edit")
    lock_videos_for_write(session, video_id)
    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist.")
    rows = offline_board(video.body, density, directions=video.directions or [], scenes=video.scenes or [])
    latest = session.scalar(select(func.max(Storyboard.version)).where(Storyboard.video_id == video_id)) or 0
    clear_current(session, video_id)
    board = session.get(Storyboard, insert_boards(session, [(video_id, latest + 1, rows)])[video_id])
    assert board is not None
    log_activity(session, "rebuild_storyboard", actor=actor, source_file_id=video.source_file_id,
                 subject_type="video", subject_id=video_id, version=board.version, density=density.kind,
                 shots=len(rows.shots), frames=rows.frame_count, pace_s=density.pace_s,
                 shots_requested=density.shots, frames_requested=density.frames)
    return board
