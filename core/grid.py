"""Storyboard grid edits: a small typed change-set applied all-or-nothing with optimistic locking.

The Storyboard page shows a current storyboard as a grid (one row per live frame). Its edits arrive here either as
typed changes (`apply_grid_edits`) or as a Streamlit data-editor delta (`apply_editor_delta`, which maps the delta
onto the same changes). The database is the source of truth: the page reloads `grid_rows` after every save.

How a save works:
1. Load the storyboard's live shots and frames and replay the changes on an in-memory copy. Every check runs here —
   unknown ids, bad positions, locked rows, and each `expected_version` against the stored `lock_version` — so a
   rejected change-set raises before anything is written.
2. Write only the rows whose values changed, each with `UPDATE … SET …, lock_version = lock_version + 1
   WHERE id = :id AND lock_version = :seen`. A writer who saved in between makes that update match no row, and the
   save fails with `ConflictError` (the caller's unit of work must then be rolled back; `session_scope` does).
3. A save that changed something is a storyboard version of its own (`core.storyboard_store.version_hand_edit`):
   the edited board takes the next version number and keeps its frames (prompts, takes, reviews), and the board
   as it stood before is kept, frozen, under the number it had, so the diff of two versions shows the edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import approvals
from core.activity import log_activity
from core.authz import require
from core.db import lock_videos_for_write
from core.errors import ConflictError, GateError, NotFoundError, ValidationError
from core.models import Frame, Shot, Storyboard, Video, utcnow
from core.storyboard_store import copy_of_shot, version_hand_edit

LOCKED = "locked"
MAX_TEXT_CHARS = 20_000
# Column names of the data editor's frame (see `GridRow.as_dict`).
COL_FRAME_ID, COL_SHOT, COL_FRAME, COL_TEXT, COL_STATUS, COL_VERSION = (
    "frame_id", "shot", "frame", "scene_text", "status", "lock_version",
)
# The shot's plan, shown on each of its frames' rows; editing it on any of them edits the shot.
COL_SIZE, COL_MOVE, COL_SHOT_VERSION = "shot_size", "camera_move", "shot_lock_version"
GRID_COLUMNS = (COL_FRAME_ID, COL_SHOT, COL_FRAME, COL_TEXT, COL_SIZE, COL_MOVE, COL_STATUS, COL_VERSION,
                COL_SHOT_VERSION)
EDITABLE_COLUMNS = frozenset({COL_SHOT, COL_FRAME, COL_TEXT, COL_SIZE, COL_MOVE})


# ---- the change-set -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditSceneText:
    frame_id: int
    text: str
    expected_version: int  # the frame's lock_version when the editor opened it


@dataclass(frozen=True)
class AddFrame:
    shot_id: int
    text: str = ""
    position: int | None = None  # 1-based among the shot's frames; None appends


@dataclass(frozen=True)
class DeleteFrame:
    frame_id: int
    expected_version: int | None = None


@dataclass(frozen=True)
class MoveFrame:
    """Move a frame to `position` (1-based) in `to_shot_id` (default: its own shot). Up/down is position ∓ 1."""

    frame_id: int
    position: int
    to_shot_id: int | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class AddShot:
    position: int | None = None  # 1-based among the storyboard's shots; None appends
    summary: str = ""
    frame_texts: tuple[str, ...] = ("",)  # a shot starts with at least one frame


@dataclass(frozen=True)
class DeleteShot:
    shot_id: int
    expected_version: int | None = None


@dataclass(frozen=True)
class MoveShot:
    shot_id: int
    position: int
    expected_version: int | None = None


@dataclass(frozen=True)
class EditShotSummary:
    shot_id: int
    summary: str
    expected_version: int


@dataclass(frozen=True)
class EditShotPlan:
    """Change a shot's size and/or camera move (None keeps it); both must be in the planner's vocabulary."""

    shot_id: int
    expected_version: int
    shot_size: str | None = None
    camera_move: str | None = None


GridChange = (
    EditSceneText | AddFrame | DeleteFrame | MoveFrame | AddShot | DeleteShot | MoveShot | EditShotSummary
    | EditShotPlan
)


@dataclass(frozen=True)
class GridResult:
    frames_changed: tuple[int, ...] = ()  # existing frames whose text, place or shot changed
    frames_text_changed: tuple[int, ...] = ()
    frames_added: tuple[int, ...] = ()
    frames_deleted: tuple[int, ...] = ()
    shots_changed: tuple[int, ...] = ()
    shots_added: tuple[int, ...] = ()
    shots_deleted: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        return any((self.frames_changed, self.frames_added, self.frames_deleted, self.shots_changed,
                    self.shots_added, self.shots_deleted))


class GridConflict(ConflictError):
    """A stale save. `kept_text` is the caller's unsaved text, for the page to show beside the reloaded grid."""

    def __init__(self, message: str, *, frame_id: int | None = None, shot_id: int | None = None,
                 kept_text: str | None = None) -> None:
        super().__init__(message)
        self.frame_id = frame_id
        self.shot_id = shot_id
        self.kept_text = kept_text


@dataclass(frozen=True)
class GridRow:
    frame_id: int
    shot_id: int
    shot_position: int
    frame_position: int
    scene_text: str
    status: str
    lock_version: int
    shot_size: str = ""
    camera_move: str = ""
    shot_lock_version: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The row as the data editor shows it (keys are `GRID_COLUMNS`)."""
        return {COL_FRAME_ID: self.frame_id, COL_SHOT: self.shot_position, COL_FRAME: self.frame_position,
                COL_TEXT: self.scene_text, COL_SIZE: self.shot_size, COL_MOVE: self.camera_move,
                COL_STATUS: self.status, COL_VERSION: self.lock_version, COL_SHOT_VERSION: self.shot_lock_version}


# ---- the in-memory copy the changes are replayed on ---------------------------------------------------------


@dataclass(eq=False)
class _FrameState:
    row: Frame | None  # None for a frame added by this change-set
    text: str
    label: str  # "Frame 2.3", as the editor saw it
    deleted: bool = False
    seen_version: int | None = None  # the lock_version the write must still find
    new: Frame | None = None


@dataclass(eq=False)
class _ShotState:
    row: Shot | None
    summary: str
    label: str
    frames: list[_FrameState] = field(default_factory=list)
    shot_size: str = ""
    camera_move: str = ""
    deleted: bool = False
    seen_version: int | None = None
    new: Shot | None = None


class _Board:
    def __init__(self, session: Session, storyboard_id: int) -> None:
        board = session.get(Storyboard, storyboard_id)
        if board is None:
            raise NotFoundError(f"Storyboard {storyboard_id} does not exist.")
        if not board.is_current:
            raise ConflictError("This storyboard was rebuilt since you opened it; reload to see the current one.")
        self.session = session
        self.board = board
        self.shots: list[_ShotState] = []
        self.shot_by_id: dict[int, _ShotState] = {}
        self.frame_by_id: dict[int, tuple[_ShotState, _FrameState]] = {}
        shots = session.scalars(select(Shot).where(Shot.storyboard_id == storyboard_id, Shot.deleted_at.is_(None))
                                .order_by(Shot.position, Shot.id))
        for shot in shots:
            state = _ShotState(row=shot, summary=shot.summary, label=f"Shot {shot.position}",
                               seen_version=shot.lock_version, shot_size=shot.shot_size,
                               camera_move=shot.camera_move)
            self.shots.append(state)
            self.shot_by_id[shot.id] = state
        frames: list[Frame] = list(session.scalars(
            select(Frame).where(Frame.shot_id.in_(list(self.shot_by_id)), Frame.deleted_at.is_(None))
            .order_by(Frame.position, Frame.id)
        )) if self.shot_by_id else []
        for frame in frames:
            shot_state = self.shot_by_id[frame.shot_id]
            fstate = _FrameState(row=frame, text=frame.scene_text, seen_version=frame.lock_version,
                                 label=f"Frame {shot_state.row.position if shot_state.row else 0}.{frame.position}")
            shot_state.frames.append(fstate)
            self.frame_by_id[frame.id] = (shot_state, fstate)
        self.removed_frames: list[_FrameState] = []
        self.removed_shots: list[_ShotState] = []
        # The board as it stands, before any change: kept as its own version when the save changes something.
        self.before = [copy_of_shot(state.row, [f.row for f in state.frames if f.row is not None])
                       for state in self.shots if state.row is not None]

    # lookups
    def frame(self, frame_id: int, kept_text: str | None = None) -> tuple[_ShotState, _FrameState]:
        found = self.frame_by_id.get(frame_id)
        if found is not None and not found[1].deleted:
            return found
        if found is None and self._deleted_here(Frame, frame_id):
            raise GridConflict(_gone_message(f"Frame {frame_id}", kept_text), frame_id=frame_id, kept_text=kept_text)
        raise NotFoundError(f"Frame {frame_id} is not in this storyboard; reload the grid.")

    def shot(self, shot_id: int, kept_text: str | None = None) -> _ShotState:
        state = self.shot_by_id.get(shot_id)
        if state is not None and not state.deleted:
            return state
        if state is None and self._deleted_here(Shot, shot_id):
            raise GridConflict(_gone_message(f"Shot {shot_id}", kept_text), shot_id=shot_id, kept_text=kept_text)
        raise NotFoundError(f"Shot {shot_id} is not in this storyboard; reload the grid.")

    def _deleted_here(self, model: type[Frame] | type[Shot], row_id: int) -> bool:
        """Whether `row_id` belongs to this storyboard but was deleted (by another writer, before this save)."""
        if model is Frame:
            stmt = (select(Frame.id).join(Shot, Frame.shot_id == Shot.id)
                    .where(Frame.id == row_id, Shot.storyboard_id == self.board.id))
        else:
            stmt = select(Shot.id).where(Shot.id == row_id, Shot.storyboard_id == self.board.id)
        return self.session.scalar(stmt) is not None

    # replaying one change
    def apply(self, change: GridChange) -> None:
        if isinstance(change, EditSceneText):
            shot, frame = self.frame(change.frame_id, kept_text=change.text)
            text = _clean_text(change.text)
            if text == frame.text:
                return
            _check_version(frame, change.expected_version, kept_text=change.text, frame_id=change.frame_id)
            _check_unlocked(frame.row, frame.label)
            frame.text = text
        elif isinstance(change, AddFrame):
            shot = self.shot(change.shot_id)
            index = _insert_index(change.position, len(shot.frames), "frame")
            shot.frames.insert(index, _FrameState(row=None, text=_clean_text(change.text), label="new frame"))
        elif isinstance(change, DeleteFrame):
            shot, frame = self.frame(change.frame_id)
            _check_version(frame, change.expected_version, frame_id=change.frame_id)
            _check_unlocked(frame.row, frame.label)
            if len(shot.frames) == 1:
                raise ValidationError(f"{shot.label} needs at least one frame; delete the shot instead.")
            shot.frames.remove(frame)
            frame.deleted = True
            self.removed_frames.append(frame)
        elif isinstance(change, MoveFrame):
            shot, frame = self.frame(change.frame_id)
            _check_version(frame, change.expected_version, frame_id=change.frame_id)
            target = self.shot(change.to_shot_id) if change.to_shot_id is not None else shot
            if target is not shot and len(shot.frames) == 1:
                raise ValidationError(f"{shot.label} needs at least one frame; delete the shot instead.")
            shot.frames.remove(frame)
            index = _insert_index(change.position, len(target.frames), "frame")
            target.frames.insert(index, frame)
        elif isinstance(change, AddShot):
            index = _insert_index(change.position, len(self.shots), "shot")
            texts = change.frame_texts or ("",)
            new_shot = _ShotState(row=None, summary=_clean_text(change.summary), label="new shot",
                                  frames=[_FrameState(row=None, text=_clean_text(t), label="new frame") for t in texts])
            self.shots.insert(index, new_shot)
        elif isinstance(change, DeleteShot):
            shot = self.shot(change.shot_id)
            _check_version(shot, change.expected_version, shot_id=change.shot_id)
            _check_unlocked(shot.row, shot.label)
            if len(self.shots) == 1:
                raise ValidationError("A storyboard needs at least one shot.")
            self.shots.remove(shot)
            shot.deleted = True
            self.removed_shots.append(shot)
            # Its frames go with it, so every reader that filters on Frame.deleted_at agrees.
            for frame in shot.frames:
                frame.deleted = True
                if frame.row is not None:
                    self.removed_frames.append(frame)
        elif isinstance(change, MoveShot):
            shot = self.shot(change.shot_id)
            _check_version(shot, change.expected_version, shot_id=change.shot_id)
            self.shots.remove(shot)
            self.shots.insert(_insert_index(change.position, len(self.shots), "shot"), shot)
        elif isinstance(change, EditShotSummary):
            shot = self.shot(change.shot_id, kept_text=change.summary)
            summary = _clean_text(change.summary)
            if summary == shot.summary:
                return
            _check_version(shot, change.expected_version, shot_id=change.shot_id, kept_text=change.summary)
            _check_unlocked(shot.row, shot.label)
            shot.summary = summary
        elif isinstance(change, EditShotPlan):
            shot = self.shot(change.shot_id)
            size = shot.shot_size if change.shot_size is None else _vocabulary_term(change.shot_size, "size")
            move = shot.camera_move if change.camera_move is None else _vocabulary_term(change.camera_move, "move")
            if (size, move) == (shot.shot_size, shot.camera_move):
                return
            _check_version(shot, change.expected_version, shot_id=change.shot_id)
            _check_unlocked(shot.row, shot.label)
            shot.shot_size, shot.camera_move = size, move
        else:  # pragma: no cover - the Union above is exhaustive
            raise ValidationError(f"Unknown grid change {change!r}.")

    # writing the differences
    def write(self, session: Session) -> GridResult:
        now = utcnow()
        shots_changed: list[int] = []
        shots_added: list[int] = []
        frames_changed: list[int] = []
        text_changed: list[int] = []
        frames_added: list[int] = []
        # Shots first: moved or added frames need their shot's id.
        for position, shot in enumerate(self.shots, start=1):
            if shot.row is None:
                shot.new = Shot(storyboard_id=self.board.id, position=position, summary=shot.summary)
                session.add(shot.new)
            elif (shot.row.position, shot.row.summary, shot.row.shot_size, shot.row.camera_move) != (
                    position, shot.summary, shot.shot_size, shot.camera_move):
                values = {"position": position, "summary": shot.summary, "shot_size": shot.shot_size,
                          "camera_move": shot.camera_move}
                if shot.camera_move != shot.row.camera_move:
                    # The planned motion line describes the move it was planned with ("Pan left on …"): kept, it
                    # would contradict the move chosen by hand in the clip's prompt.
                    values["motion_prompt"] = ""
                _guarded_update(session, Shot, shot.row.id, shot.seen_version, shot.label, values)
                shots_changed.append(shot.row.id)
        for shot in self.removed_shots:
            assert shot.row is not None
            _guarded_update(session, Shot, shot.row.id, shot.seen_version, shot.label, {"deleted_at": now})
        session.flush()
        shots_added = [s.new.id for s in self.shots if s.new is not None]
        for shot in self.shots:
            shot_id = shot.row.id if shot.row is not None else shot.new.id  # type: ignore[union-attr]
            for position, frame in enumerate(shot.frames, start=1):
                if frame.row is None:
                    frame.new = Frame(shot_id=shot_id, position=position, scene_text=frame.text)
                    session.add(frame.new)
                    continue
                old = (frame.row.shot_id, frame.row.position, frame.row.scene_text)
                if old != (shot_id, position, frame.text):
                    _guarded_update(session, Frame, frame.row.id, frame.seen_version, frame.label,
                                    {"shot_id": shot_id, "position": position, "scene_text": frame.text},
                                    kept_text=frame.text if frame.text != frame.row.scene_text else None)
                    frames_changed.append(frame.row.id)
                    if frame.row.scene_text != frame.text:
                        text_changed.append(frame.row.id)
        for frame in self.removed_frames:
            assert frame.row is not None
            _guarded_update(session, Frame, frame.row.id, frame.seen_version, frame.label, {"deleted_at": now})
        session.flush()
        frames_added = [f.new.id for s in self.shots for f in s.frames if f.new is not None]
        # The rows above were changed behind the identity map's back: make the next read see the new values.
        for shot_state in list(self.shot_by_id.values()):
            if shot_state.row is not None:
                session.expire(shot_state.row)
            for f in shot_state.frames:
                if f.row is not None:
                    session.expire(f.row)
        for f in self.removed_frames:
            if f.row is not None:
                session.expire(f.row)
        return GridResult(
            frames_changed=tuple(frames_changed), frames_text_changed=tuple(text_changed),
            frames_added=tuple(frames_added), frames_deleted=tuple(f.row.id for f in self.removed_frames if f.row),
            shots_changed=tuple(shots_changed), shots_added=tuple(shots_added),
            shots_deleted=tuple(s.row.id for s in self.removed_shots if s.row),
        )


def _vocabulary_term(value: str, what: str) -> str:
    """A shot size or camera move spelled as the planner's vocabulary spells it; '' clears it."""
    from core.planner.types import CAMERA_MOVES, SHOT_SIZES
    from core.planner.validate import normalize_term

    term = normalize_term(value or "")
    words = SHOT_SIZES if what == "size" else CAMERA_MOVES
    if term and term not in words:
        label = "shot size" if what == "size" else "camera move"
        raise ValidationError(f"{value!r} is not a {label}; choose one of: {', '.join(words)}.")
    return term


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(f"Text is limited to {MAX_TEXT_CHARS:,} characters (got {len(text):,}).")
    return text


def _insert_index(position: int | None, count: int, what: str) -> int:
    if position is None:
        return count
    if not 1 <= position <= count + 1:
        raise ValidationError(f"A {what} can go at positions 1 to {count + 1} (got {position}).")
    return position - 1


def _check_version(state: _FrameState | _ShotState, expected: int | None, *, frame_id: int | None = None,
                   shot_id: int | None = None, kept_text: str | None = None) -> None:
    if expected is None or state.seen_version is None or expected == state.seen_version:
        return
    raise GridConflict(_conflict_message(state.label, kept_text), frame_id=frame_id, shot_id=shot_id,
                       kept_text=kept_text)


def _conflict_message(label: str, kept_text: str | None) -> str:
    kept = "; your text is kept below" if kept_text is not None else ""
    return f"{label} was changed by someone else since you opened it{kept} — reload to see theirs."


def _gone_message(label: str, kept_text: str | None) -> str:
    kept = "; your text is kept below" if kept_text is not None else ""
    return f"{label} was deleted by someone else since you opened it{kept} — reload to see the current grid."


def _check_unlocked(row: Frame | Shot | None, label: str) -> None:
    if row is not None and row.review_status == LOCKED:
        raise GateError(f"{label} is locked; unlock it before changing it.")


def _guarded_update(session: Session, model: type[Frame] | type[Shot], row_id: int, seen_version: int | None,
                    label: str, values: dict[str, Any], *, kept_text: str | None = None) -> None:
    """UPDATE one row only if nobody changed it since it was read, bumping its lock_version."""
    # synchronize_session=False: the in-memory rows are expired after the save instead.
    stmt = (update(model).where(model.id == row_id, model.lock_version == seen_version)
            .values(lock_version=model.lock_version + 1, **values)
            .execution_options(synchronize_session=False))
    result = session.execute(stmt)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        is_frame = model is Frame
        raise GridConflict(_conflict_message(label, kept_text), frame_id=row_id if is_frame else None,
                           shot_id=None if is_frame else row_id, kept_text=kept_text)


# ---- public API ---------------------------------------------------------------------------------------------


def apply_grid_edits(session: Session, storyboard_id: int, changes: Sequence[GridChange], *,
                     actor: str = "", cause: str = "board edit") -> GridResult:
    """Apply `changes` in order, all or nothing; every changed frame and shot gets its lock_version bumped.

    Raises `ConflictError` (a `GridConflict` naming the frame or shot) when a row was saved by someone else since
    the caller read it, `ValidationError` for impossible positions, `GateError` for locked rows, `NotFoundError`
    for ids outside this storyboard. Positions are renumbered 1..n after every save.
    """
    require("edit")
    found = session.get(Storyboard, storyboard_id)
    if found is not None:
        # The video's write lock, as a plan or a rebuild takes it: two saves, or a save and a plan, queue up for
        # the version numbers instead of racing; the rows below are read after it.
        lock_videos_for_write(session, found.video_id)
        session.refresh(found)  # its version and currency as the lock holder left them, not as first read
    board = _Board(session, storyboard_id)
    for change in changes:
        board.apply(change)
    result = board.write(session)
    if result.changed:
        old_version = board.board.version
        version_hand_edit(session, board.board, board.before, actor=actor)
        video = session.get(Video, board.board.video_id)
        log_activity(session, "edit_storyboard", actor=actor, source_file_id=video.source_file_id if video else None,
                     subject_type="storyboard", subject_id=storyboard_id,
                     frames_changed=len(result.frames_changed), frames_added=len(result.frames_added),
                     frames_deleted=len(result.frames_deleted), shots_changed=len(result.shots_changed),
                     shots_added=len(result.shots_added), shots_deleted=len(result.shots_deleted),
                     version=board.board.version, edited_from=old_version)
        # Approved frames whose text changed, and approved shots whose frames were added, removed or moved, now
        # read "changed since approved" (core.approvals); the log says who changed what, and how.
        approvals.note_changes(session, result.frames_text_changed, actor=actor, cause=cause)
        touched = set(result.frames_changed) | set(result.frames_added) | set(result.frames_deleted)
        shots = set(session.scalars(select(Frame.shot_id).where(Frame.id.in_(sorted(touched))))) if touched else set()
        approvals.note_shot_changes(session, shots | set(result.shots_changed), actor=actor, cause=cause)
    return result


def grid_rows(session: Session, storyboard_id: int) -> list[GridRow]:
    """The live frames of a storyboard in reading order (shot position, then frame position)."""
    stmt = (
        select(Frame, Shot.position, Shot.shot_size, Shot.camera_move, Shot.lock_version)
        .join(Shot, Frame.shot_id == Shot.id)
        .where(Shot.storyboard_id == storyboard_id, Shot.deleted_at.is_(None), Frame.deleted_at.is_(None))
        .order_by(Shot.position, Shot.id, Frame.position, Frame.id)
    )
    return [
        GridRow(frame_id=f.id, shot_id=f.shot_id, shot_position=shot_pos, frame_position=f.position,
                scene_text=f.scene_text, status=f.review_status, lock_version=f.lock_version,
                shot_size=size, camera_move=move, shot_lock_version=shot_version)
        for f, shot_pos, size, move, shot_version in session.execute(stmt).tuples()
    ]


def editor_delta_changes(session: Session, storyboard_id: int, rows_by_index: Sequence[GridRow] | Mapping[int, GridRow],
                         delta: Mapping[str, Any]) -> list[GridChange]:
    """Translate a data-editor delta into grid changes.

    `rows_by_index` are the rows the editor was given (from `grid_rows`), by row index. In the delta:
    - `edited_rows[i]["scene_text"]` edits the text (checked against the row's lock_version);
      `shot` / `frame` move the frame (to another shot by its position, and/or to a frame position);
    - `added_rows` add a frame with `scene_text` to shot `shot` (default: the last shot) at `frame` (default: the
      end); a `shot` one past the last creates a new shot at the end (rows naming the same new shot share it);
    - `deleted_rows` delete frames (checked against their lock_version).
    Changes run in that order: edits, moves, deletions, additions.
    """
    rows = dict(rows_by_index) if isinstance(rows_by_index, Mapping) else dict(enumerate(rows_by_index))
    shots = session.scalars(select(Shot).where(Shot.storyboard_id == storyboard_id, Shot.deleted_at.is_(None))
                            .order_by(Shot.position, Shot.id)).all()
    shot_id_at = {s.position: s.id for s in shots}
    edits: list[GridChange] = []
    moves: list[GridChange] = []
    plans: dict[int, EditShotPlan] = {}
    for raw_index, cells in (delta.get("edited_rows") or {}).items():
        row = _row_at(rows, raw_index)
        unknown = set(cells) - EDITABLE_COLUMNS
        if unknown:
            raise ValidationError(f"The column(s) {', '.join(sorted(unknown))} cannot be edited.")
        if COL_TEXT in cells:
            edits.append(EditSceneText(row.frame_id, _as_text(cells[COL_TEXT]), expected_version=row.lock_version))
        if COL_SIZE in cells or COL_MOVE in cells:
            plan = EditShotPlan(row.shot_id, expected_version=row.shot_lock_version,
                                shot_size=_as_text(cells[COL_SIZE]) if COL_SIZE in cells else None,
                                camera_move=_as_text(cells[COL_MOVE]) if COL_MOVE in cells else None)
            earlier = plans.get(row.shot_id)
            if earlier is not None and plan != earlier and any(
                    getattr(plan, k) is not None and getattr(earlier, k) is not None
                    and getattr(plan, k) != getattr(earlier, k) for k in ("shot_size", "camera_move")):
                raise ValidationError(f"Shot {row.shot_position} got two different sizes or moves in one save; "
                                      "keep one.")
            plans[row.shot_id] = plan if earlier is None else EditShotPlan(
                row.shot_id, expected_version=row.shot_lock_version,
                shot_size=plan.shot_size if plan.shot_size is not None else earlier.shot_size,
                camera_move=plan.camera_move if plan.camera_move is not None else earlier.camera_move)
        if COL_SHOT in cells or COL_FRAME in cells:
            shot_pos = _as_position(cells.get(COL_SHOT, row.shot_position), "shot")
            if shot_pos not in shot_id_at:
                raise ValidationError(f"There is no shot {shot_pos}; add a row with that shot number to create it.")
            to_shot = shot_id_at[shot_pos]
            if COL_FRAME in cells:
                position = _as_position(cells[COL_FRAME], "frame")
            else:
                position = sum(1 for r in rows.values() if r.shot_id == to_shot) + (0 if to_shot == row.shot_id else 1)
            moves.append(MoveFrame(row.frame_id, position=position, to_shot_id=to_shot,
                                   expected_version=row.lock_version))
    deletes: list[GridChange] = [
        DeleteFrame(_row_at(rows, i).frame_id, expected_version=_row_at(rows, i).lock_version)
        for i in (delta.get("deleted_rows") or [])
    ]
    adds: list[GridChange] = []
    new_shots: dict[int, list[str]] = {}
    last_shot = max(shot_id_at) if shot_id_at else 0
    for cells in delta.get("added_rows") or []:
        text = _as_text(cells.get(COL_TEXT))
        shot_pos = _as_position(cells.get(COL_SHOT) or last_shot or 1, "shot")
        if shot_pos in shot_id_at:
            frame_pos = cells.get(COL_FRAME)
            adds.append(AddFrame(shot_id_at[shot_pos], text=text,
                                 position=None if frame_pos in (None, "") else _as_position(frame_pos, "frame")))
        elif shot_pos == last_shot + 1:
            new_shots.setdefault(shot_pos, []).append(text)
        else:
            raise ValidationError(f"There is no shot {shot_pos}; new rows can go in shots 1 to {last_shot + 1}.")
    for texts in new_shots.values():
        adds.append(AddShot(frame_texts=tuple(texts)))
    return [*edits, *plans.values(), *moves, *deletes, *adds]


def apply_editor_delta(session: Session, storyboard_id: int,
                       rows_by_index: Sequence[GridRow] | Mapping[int, GridRow],
                       delta: Mapping[str, Any], *, actor: str = "") -> GridResult:
    """Apply a Streamlit data-editor delta (see `editor_delta_changes`) with `apply_grid_edits`."""
    changes = editor_delta_changes(session, storyboard_id, rows_by_index, delta)
    return apply_grid_edits(session, storyboard_id, changes, actor=actor)


def _row_at(rows: Mapping[int, GridRow], raw_index: Any) -> GridRow:
    try:
        return rows[int(raw_index)]
    except (KeyError, ValueError, TypeError):
        raise ConflictError("The grid changed since it was drawn; reload and try again.") from None


def _as_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN from pandas
        return ""
    return str(value)


def _as_position(value: Any, what: str) -> int:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ValidationError(f"The {what} number must be a whole number (got {value!r}).") from None
    if number < 1 or number != float(value):
        raise ValidationError(f"The {what} number must be a whole number from 1 (got {value!r}).")
    return number
