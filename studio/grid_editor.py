"""The storyboard's editable grid: one row per frame, keyed by database id, saved through `core.grid`.

The editor is always given rows read from the database, never its own output (Streamlit issue #7749). While the
producer has unsaved edits, the editor keeps the rows it was drawn from (the snapshot), so a save is checked
against the lock versions the producer actually saw; a concurrent save elsewhere is reported, not overwritten.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.db import session_scope
from core.grid import (
    COL_FRAME,
    COL_MOVE,
    COL_SHOT,
    COL_SIZE,
    COL_STATUS,
    COL_TEXT,
    GridConflict,
    GridRow,
    apply_editor_delta,
    grid_rows,
)
from core.planner.types import CAMERA_MOVES, SHOT_SIZES
from core.runtime import Runtime
from studio import state
from studio.board import BoardView
from studio.widgets import show_error, show_text

NONCE = "grid_nonce"


def _has_edits(delta: Any) -> bool:
    return isinstance(delta, dict) and any(delta.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))


def _reset_editor() -> None:
    st.session_state[NONCE] = st.session_state.get(NONCE, 0) + 1


def _editor_key(storyboard_id: int) -> str:
    return f"{state.GRID_EDITOR}-{storyboard_id}-{st.session_state.get(NONCE, 0)}"


def has_unsaved_edits(storyboard_id: int) -> bool:
    """Whether the producer changed the storyboard's grid without saving yet."""
    return _has_edits(st.session_state.get(_editor_key(storyboard_id)))


def draw_grid_editor(rt: Runtime, board: BoardView) -> None:
    key = _editor_key(board.storyboard_id)
    snapshots: dict[str, list[GridRow]] = st.session_state.setdefault(state.GRID_SNAPSHOT, {})
    delta = st.session_state.get(key)
    rows = snapshots.get(key) if _has_edits(delta) and key in snapshots else None
    if rows is None:
        with rt.sessions() as session:
            rows = grid_rows(session, board.storyboard_id)
    snapshots.clear()
    snapshots[key] = rows  # what the editor is drawn from, by row index

    _show_kept_text()
    st.caption("Edit scene text in place; pick a shot's size and camera move on any of its rows; change Shot / "
               "Frame numbers to move a frame; add a row (a new shot number one past the last creates a shot) or "
               "delete rows. Nothing is stored until you save.")
    frame = pd.DataFrame([r.as_dict() for r in rows])
    st.data_editor(
        frame, key=key, num_rows="dynamic", hide_index=True, width="stretch",
        column_order=(COL_SHOT, COL_FRAME, COL_TEXT, COL_SIZE, COL_MOVE, COL_STATUS),
        disabled=(COL_STATUS,),
        column_config={
            COL_SHOT: st.column_config.NumberColumn("Shot", min_value=1, step=1, width="small"),
            COL_FRAME: st.column_config.NumberColumn("Frame", min_value=1, step=1, width="small"),
            COL_TEXT: st.column_config.TextColumn("Scene text", width="large", max_chars=20000),
            COL_SIZE: st.column_config.SelectboxColumn("Shot size", options=list(SHOT_SIZES), width="small"),
            COL_MOVE: st.column_config.SelectboxColumn("Camera", options=list(CAMERA_MOVES), width="small"),
            COL_STATUS: st.column_config.TextColumn("Review", width="small"),
        },
    )
    save, discard, _ = st.columns([1, 1, 3])
    if discard.button("Discard changes", icon=":material/undo:", disabled=not _has_edits(st.session_state.get(key))):
        _reset_editor()
        st.rerun()
    if save.button("Save changes", type="primary", icon=":material/save:"):
        save_edits(rt, board.storyboard_id, rows, st.session_state.get(key) or {})


def save_edits(rt: Runtime, storyboard_id: int, rows: list[GridRow], delta: dict[str, Any]) -> None:
    """Apply the editor's delta in one transaction; on a conflict keep the producer's text on screen."""
    if not _has_edits(delta):
        st.toast("Nothing to save.")
        return
    try:
        with session_scope(rt.sessions) as session:
            result = apply_editor_delta(session, storyboard_id, rows, delta, actor=rt.settings.author_name)
    except GridConflict as err:
        st.session_state[state.GRID_PENDING] = (str(err), err.kept_text)
        _reset_editor()  # reload the grid with the other writer's version
        st.rerun()
    except Exception as err:  # noqa: BLE001 - validation and gate errors are shown in words
        show_error(err)
        return
    _reset_editor()
    changed = len(result.frames_changed) + len(result.frames_added) + len(result.frames_deleted)
    state.flash(f"Saved: {changed} frame(s) changed. Their prompts are now marked stale where the text changed.")
    st.rerun()


def _show_kept_text() -> None:
    pending = st.session_state.get(state.GRID_PENDING)
    if not pending:
        return
    message, kept = pending
    st.error(message, icon=":material/sync_problem:")
    if kept:
        st.markdown("**Your unsaved text** (copy it back into the grid if it should win):")
        with st.container(border=True):
            show_text(kept, key="kept-text")
        st.code(kept, language=None, wrap_lines=True)
    if st.button("Dismiss", key="dismiss-conflict"):
        del st.session_state[state.GRID_PENDING]
        st.rerun()
