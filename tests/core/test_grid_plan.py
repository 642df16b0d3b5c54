"""A shot's size and camera move edited in the storyboard grid: on any of its frames' rows, checked against the
planner's vocabulary, all or nothing, under the shot's optimistic lock."""

from __future__ import annotations

import pytest

from core.db import session_scope
from core.errors import ConflictError, ValidationError
from core.grid import COL_MOVE, COL_SIZE, COL_TEXT, apply_editor_delta, grid_rows
from core.models import Frame, Shot
from core.runtime import Runtime
from tests.core.prompt_fixtures import make_board


def test_editing_a_move_on_a_frame_row_changes_the_shot(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s)
        rows = grid_rows(s, board.storyboard_id)
    second_row_of_shot_1 = 1
    with session_scope(runtime.sessions) as s:
        result = apply_editor_delta(s, board.storyboard_id, rows, {"edited_rows": {
            second_row_of_shot_1: {COL_MOVE: "Pan-Left", COL_SIZE: "close up"}}})
        assert result.shots_changed == (board.shot_ids[0],)
    with session_scope(runtime.sessions) as s:
        shot = s.get(Shot, board.shot_ids[0])
        assert (shot.camera_move, shot.shot_size) == ("pan left", "close-up")
        assert {(r.shot_id, r.camera_move) for r in grid_rows(s, board.storyboard_id)
                if r.shot_id == shot.id} == {(shot.id, "pan left")}


def test_a_move_outside_the_vocabulary_is_refused_and_nothing_is_saved(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s)
        rows = grid_rows(s, board.storyboard_id)
    with pytest.raises(ValidationError) as info, session_scope(runtime.sessions) as s:
        apply_editor_delta(s, board.storyboard_id, rows, {"edited_rows": {
            0: {COL_TEXT: "new text"}, 3: {COL_MOVE: "dolly zoom"}}})
    assert "'dolly zoom' is not a camera move" in str(info.value) and "orbit" in str(info.value)
    with session_scope(runtime.sessions) as s:
        assert s.get(Frame, board.frames[0][0]).scene_text != "new text"


def test_two_different_moves_for_one_shot_in_one_save_are_refused(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s)
        rows = grid_rows(s, board.storyboard_id)
    with pytest.raises(ValidationError), session_scope(runtime.sessions) as s:
        apply_editor_delta(s, board.storyboard_id, rows, {"edited_rows": {0: {COL_MOVE: "orbit"},
                                                                            1: {COL_MOVE: "static"}}})


def test_a_stale_move_edit_is_a_conflict(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s)
        rows = grid_rows(s, board.storyboard_id)
    with session_scope(runtime.sessions) as s:
        apply_editor_delta(s, board.storyboard_id, rows, {"edited_rows": {0: {COL_MOVE: "orbit"}}})
    with pytest.raises(ConflictError), session_scope(runtime.sessions) as s:
        apply_editor_delta(s, board.storyboard_id, rows, {"edited_rows": {1: {COL_MOVE: "tracking"}}})


def test_a_move_changed_by_hand_drops_the_motion_line_planned_for_the_old_one(runtime: Runtime) -> None:
    """The clip's prompt must not say "Slow pan left … Motion: Push in on the presenter": the motion line was
    planned with the old move; a size change alone keeps it."""
    from core.jobs.planning import motion_prompt

    with session_scope(runtime.sessions) as s:
        board = make_board(s)
        for shot_id in board.shot_ids:
            s.get(Shot, shot_id).motion_prompt = "Push in on the presenter as the diagram fills in"
        rows = grid_rows(s, board.storyboard_id)
    first_rows = {r.shot_id: i for i, r in reversed(list(enumerate(rows)))}
    with session_scope(runtime.sessions) as s:
        apply_editor_delta(s, board.storyboard_id, rows, {"edited_rows": {
            first_rows[board.shot_ids[0]]: {COL_MOVE: "pan left"},
            first_rows[board.shot_ids[1]]: {COL_SIZE: "close-up"}}})
    with runtime.sessions() as s:
        moved, resized = s.get(Shot, board.shot_ids[0]), s.get(Shot, board.shot_ids[1])
        prompt = motion_prompt(s, moved, list(moved.frames))
        assert prompt.startswith("Slow pan left") and "Push in" not in prompt
        assert resized.motion_prompt.startswith("Push in on the presenter")
