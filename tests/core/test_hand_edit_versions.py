"""Hand edits after a plan are storyboard versions too (issue 16): a grid save — a shot's size or camera move,
a keyframe's text, a frame moved, added or deleted — makes the edited board the next version (its frames keep
their prompts and takes) and keeps the board as it stood under its old number, so the diff names the edit.
Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import ValidationError
from core.grid import COL_MOVE, COL_SHOT, COL_SIZE, COL_TEXT, EditShotPlan, apply_editor_delta, apply_grid_edits, grid_rows
from core.library import current_storyboard, ingest_file, list_storyboards, set_current_storyboard
from core.models import Shot, Storyboard
from core.planner.batch import load_inputs
from core.planner.offline import OfflinePlanner
from core.planner.types import KeyframePlan, PlannedShot, ShotPlanReply
from core.runtime import Runtime
from core.storyboard_diff import diff_storyboards
from core.storyboard_store import HAND_EDIT, store_plan
from tests.core.docx_factory import make_docx

SENTENCES = ["One cell.", "Two membranes.", "Three nuclei.", "Four mitochondria."]


def _planned(runtime: Runtime) -> tuple[int, int]:
    """A video with an AI plan as its current version 2: (video id, storyboard id)."""
    with session_scope(runtime.sessions) as s:
        video_id = ingest_file(s, make_docx([("heading", "Video 1: Cells"), ("para", " ".join(SENTENCES))]),
                               "cells.docx", settings=runtime.settings).video_ids[0]
        board = store_plan(s, video_id, ShotPlanReply(shots=(
            PlannedShot(first_sentence=1, last_sentence=2, shot_size="wide", camera_move="static",
                        keyframes=(KeyframePlan(description="a cell"), KeyframePlan(description="a membrane"))),
            PlannedShot(first_sentence=3, last_sentence=4, shot_size="close-up", camera_move="pan left",
                        keyframes=(KeyframePlan(description="a nucleus"),)))),
            planner="openai", model="gpt-test", template_version="plan-1", density="fixed", pace_s=None,
            input_hash="p" * 64)
        return video_id, board.id


def test_a_chip_edit_is_a_new_version_and_the_plan_is_kept_to_diff_against(runtime: Runtime) -> None:
    video_id, board_id = _planned(runtime)
    with session_scope(runtime.sessions) as s:
        rows = grid_rows(s, board_id)
        frame_ids = [r.frame_id for r in rows]
        apply_editor_delta(s, board_id, rows, {"edited_rows": {1: {COL_MOVE: "push in", COL_SIZE: "medium"}}},
                           actor="ana")
    with session_scope(runtime.sessions) as s:
        versions = list_storyboards(s, video_id)
        assert [(b.version, b.is_current, b.planner) for b in versions] == [
            (1, False, "offline"), (2, False, "openai"), (3, True, HAND_EDIT)]
        current = current_storyboard(s, video_id)
        assert current.id == board_id  # the edited board itself: its frames, prompts and takes stay put
        assert [r.frame_id for r in grid_rows(s, board_id)] == frame_ids
        assert "version 2" in current.note and current.planner_model == "ana"
        plan = versions[1]
        assert (plan.planner_model, plan.template_version, plan.plan_input_hash) == ("gpt-test", "plan-1", "p" * 64)
        kept = list(s.scalars(select(Shot).where(Shot.storyboard_id == plan.id).order_by(Shot.position)))
        assert [(sh.shot_size, sh.camera_move, sh.narration) for sh in kept] == [
            ("wide", "static", "One cell. Two membranes."), ("close-up", "pan left", "Three nuclei. Four mitochondria.")]
        diff = diff_storyboards(s, plan.id, board_id)
        assert [d.kind for d in diff.shots] == ["changed", "same"]
        assert set(diff.shots[0].changes) == {"size: wide → medium", "camera: static → push in"}
        assert diff.summary() == "Version 2 → 3: 1 changed, 1 unchanged shot(s)."


def test_text_moves_additions_and_deletions_show_in_the_diff(runtime: Runtime) -> None:
    video_id, board_id = _planned(runtime)
    with session_scope(runtime.sessions) as s:
        rows = grid_rows(s, board_id)
        apply_editor_delta(s, board_id, rows, {"edited_rows": {0: {COL_TEXT: "a dividing cell"}},
                                               "deleted_rows": [1], "added_rows": [{COL_SHOT: 2, COL_TEXT: "DNA"}]})
    with session_scope(runtime.sessions) as s:
        before = next(b for b in list_storyboards(s, video_id) if b.version == 2)
        diff = diff_storyboards(s, before.id, board_id)
        first, second = diff.shots
        assert "keyframe 1: a cell → a dividing cell" in first.changes and "keyframes: 2 → 1" in first.changes
        assert "keyframes: 1 → 2" in second.changes


def test_every_save_is_a_version_and_an_earlier_one_can_be_made_current(runtime: Runtime) -> None:
    video_id, board_id = _planned(runtime)
    for move in ("orbit", "tracking"):
        with session_scope(runtime.sessions) as s:
            shot = s.scalars(select(Shot).where(Shot.storyboard_id == board_id).order_by(Shot.position)).first()
            apply_grid_edits(s, board_id, [EditShotPlan(shot.id, shot.lock_version, camera_move=move)])
    with session_scope(runtime.sessions) as s:
        versions = list_storyboards(s, video_id)
        assert [b.version for b in versions] == [1, 2, 3, 4] and current_storyboard(s, video_id).id == board_id
        third = versions[2]
        assert diff_storyboards(s, third.id, board_id).shots[0].changes == ("camera: orbit → tracking",)
        set_current_storyboard(s, versions[1].id)
    with session_scope(runtime.sessions) as s:
        shots = list(s.scalars(select(Shot).where(Shot.storyboard_id == current_storyboard(s, video_id).id)
                               .order_by(Shot.position)))
        assert [sh.camera_move for sh in shots] == ["static", "pan left"]  # the plan as the AI made it


def test_a_refused_or_empty_save_makes_no_version(runtime: Runtime) -> None:
    video_id, board_id = _planned(runtime)
    with session_scope(runtime.sessions) as s:
        rows = grid_rows(s, board_id)
        apply_editor_delta(s, board_id, rows, {"edited_rows": {0: {COL_MOVE: "static"}}})  # what it already is
    with pytest.raises(ValidationError), session_scope(runtime.sessions) as s:
        apply_editor_delta(s, board_id, rows, {"edited_rows": {0: {COL_MOVE: "dolly zoom"}}})
    with session_scope(runtime.sessions) as s:
        assert [b.version for b in list_storyboards(s, video_id)] == [1, 2]
        assert s.get(Storyboard, board_id).planner == "openai"


def test_planning_the_same_inputs_again_keeps_the_hand_edits(runtime: Runtime) -> None:
    """The edited board keeps its plan's input hash: re-planning unchanged inputs reuses it (nothing paid, the
    edits stay), it does not bring the untouched plan back."""
    video_id, board_id = _planned(runtime)
    with session_scope(runtime.sessions) as s:
        rows = grid_rows(s, board_id)
        apply_editor_delta(s, board_id, rows, {"edited_rows": {0: {COL_MOVE: "orbit"}}})
    with session_scope(runtime.sessions) as s:
        board = s.get(Storyboard, board_id)
        board.plan_input_hash = load_inputs(s, [video_id], OfflinePlanner(), force=True)[0].digest
        plan = next(b for b in list_storyboards(s, video_id) if b.version == 2)
        plan.plan_input_hash = board.plan_input_hash
    with session_scope(runtime.sessions) as s:
        assert load_inputs(s, [video_id], OfflinePlanner())[0].reusable_id == board_id


def test_two_saves_at_once_make_two_versions_without_an_error(runtime: Runtime) -> None:
    """Two producers saving different frames of one board at the same moment: both saves land, each is a version
    (the video's row lock orders them; the second reads the version the first left)."""
    import threading

    video_id, board_id = _planned(runtime)
    with session_scope(runtime.sessions) as s:
        rows = grid_rows(s, board_id)
    barrier, errors = threading.Barrier(2), []

    def save(index: int, text: str) -> None:
        try:
            barrier.wait(10)
            with session_scope(runtime.sessions) as s:
                apply_editor_delta(s, board_id, rows, {"edited_rows": {index: {COL_TEXT: text}}})
        except Exception as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=save, args=(i, f"edited {i}")) for i in (0, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    with session_scope(runtime.sessions) as s:
        assert [b.version for b in list_storyboards(s, video_id)] == [1, 2, 3, 4]
        texts = {r.scene_text for r in grid_rows(s, board_id)}
        assert {"edited 0", "edited 2"} <= texts
