from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from core.errors import ConflictError, GateError, NotFoundError, ValidationError
from core.grid import (
    AddFrame,
    AddShot,
    DeleteFrame,
    DeleteShot,
    EditSceneText,
    EditShotSummary,
    GridConflict,
    GridRow,
    MoveFrame,
    MoveShot,
    apply_editor_delta,
    apply_grid_edits,
    grid_rows,
)
from core.library import current_storyboard, rebuild_storyboard
from core.models import Activity, Frame, Shot, SourceFile, Video
from core.runtime import Runtime

BODY = " ".join(f"Sentence {i}." for i in range(1, 13))  # 12 sentences: one per frame in a 4 × 3 grid


def _storyboard(runtime: Runtime, body: str = BODY) -> int:
    """A script with one video and its storyboard (4 shots × 3 frames), committed; returns the storyboard id."""
    with runtime.sessions() as s:
        source = SourceFile(sha256="a" * 64, original_name="x.docx", stored_name="sources/x.docx", size_bytes=1)
        s.add(source)
        s.flush()
        video = Video(source_file_id=source.id, position=1, number=1, title="One", body=body)
        s.add(video)
        s.flush()
        board = rebuild_storyboard(s, video.id, shots=4, frames=3)
        s.commit()
        return board.id


def _texts(runtime: Runtime, storyboard_id: int) -> list[tuple[int, int, str]]:
    with runtime.sessions() as s:
        return [(r.shot_position, r.frame_position, r.scene_text) for r in grid_rows(s, storyboard_id)]


def _rows(runtime: Runtime, storyboard_id: int) -> list[GridRow]:
    with runtime.sessions() as s:
        return grid_rows(s, storyboard_id)


def _save(runtime: Runtime, storyboard_id: int, changes: list) -> object:  # type: ignore[type-arg]
    with runtime.sessions() as s:
        try:
            result = apply_grid_edits(s, storyboard_id, changes, actor="tester")
            s.commit()
            return result
        except BaseException:
            s.rollback()
            raise


def test_grid_rows_list_live_frames_in_reading_order(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    assert [(r.shot_position, r.frame_position) for r in rows] == [(s, f) for s in range(1, 5) for f in range(1, 4)]
    assert [r.scene_text for r in rows] == [f"Sentence {i}." for i in range(1, 13)]
    assert all(r.lock_version == 1 and r.status == "draft" for r in rows)
    assert rows[0].as_dict()["scene_text"] == "Sentence 1."


def test_editing_scene_text_bumps_only_that_frames_version(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    result = _save(runtime, board, [EditSceneText(rows[4].frame_id, "  A new picture.  ", expected_version=1)])
    after = _rows(runtime, board)
    assert after[4].scene_text == "A new picture."
    assert after[4].lock_version == 2
    assert [r.lock_version for i, r in enumerate(after) if i != 4] == [1] * 11
    assert result.frames_text_changed == (rows[4].frame_id,)  # type: ignore[attr-defined]
    with runtime.sessions() as s:
        assert s.scalar(select(Activity.action).order_by(Activity.id.desc())) == "edit_storyboard"


def test_unchanged_text_is_not_a_change(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    result = _save(runtime, board, [EditSceneText(rows[0].frame_id, "Sentence 1.", expected_version=1)])
    assert not result.changed  # type: ignore[attr-defined]
    assert _rows(runtime, board)[0].lock_version == 1


def test_second_writer_gets_a_conflict_naming_the_frame_and_loses_nothing(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    seen_by_a = _rows(runtime, board)
    seen_by_b = _rows(runtime, board)
    target = seen_by_a[5]  # shot 2, frame 3
    _save(runtime, board, [EditSceneText(target.frame_id, "Writer A's text.", expected_version=target.lock_version)])

    stale = seen_by_b[5]
    with pytest.raises(GridConflict) as err:
        _save(runtime, board, [
            EditSceneText(seen_by_b[0].frame_id, "B also edits frame 1.1.", expected_version=seen_by_b[0].lock_version),
            EditSceneText(stale.frame_id, "Writer B's text.", expected_version=stale.lock_version),
        ])
    assert str(err.value) == ("Frame 2.3 was changed by someone else since you opened it; your text is kept below "
                              "— reload to see theirs.")
    assert err.value.kept_text == "Writer B's text."
    assert err.value.frame_id == stale.frame_id
    assert isinstance(err.value, ConflictError) and err.value.category == "conflict"
    after = _rows(runtime, board)
    assert after[5].scene_text == "Writer A's text." and after[5].lock_version == 2
    assert after[0].scene_text == "Sentence 1." and after[0].lock_version == 1  # all or nothing


def test_writer_racing_past_the_check_is_stopped_by_the_guarded_update(runtime: Runtime) -> None:
    """B reads version 1 while A's save is still open; A commits; B's write must not overwrite A's."""
    board = _storyboard(runtime)
    frame_id = _rows(runtime, board)[0].frame_id
    outcome: dict[str, BaseException | None] = {}

    session_a = runtime.sessions()
    apply_grid_edits(session_a, board, [EditSceneText(frame_id, "A wins.", expected_version=1)])  # flushed, open

    def writer_b() -> None:
        try:
            _save(runtime, board, [EditSceneText(frame_id, "B loses.", expected_version=1)])
            outcome["b"] = None
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            outcome["b"] = exc

    thread = threading.Thread(target=writer_b)
    thread.start()
    time.sleep(0.5)  # B has read version 1 and is now waiting for A's lock
    session_a.commit()
    session_a.close()
    thread.join(timeout=30)
    assert isinstance(outcome.get("b"), GridConflict), outcome
    row = _rows(runtime, board)[0]
    assert (row.scene_text, row.lock_version) == ("A wins.", 2)


def test_add_delete_and_move_frames_renumber_positions(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    shot1, shot2 = rows[0].shot_id, rows[3].shot_id
    result = _save(runtime, board, [
        AddFrame(shot1, "Inserted first.", position=1),
        DeleteFrame(rows[1].frame_id, expected_version=1),  # "Sentence 2."
        MoveFrame(rows[2].frame_id, position=1, to_shot_id=shot2),  # "Sentence 3." to the top of shot 2
        MoveFrame(rows[5].frame_id, position=2),  # "Sentence 6." up one within shot 2
    ])
    assert _texts(runtime, board)[:7] == [
        (1, 1, "Inserted first."), (1, 2, "Sentence 1."),
        (2, 1, "Sentence 3."), (2, 2, "Sentence 6."), (2, 3, "Sentence 4."), (2, 4, "Sentence 5."),
        (3, 1, "Sentence 7."),
    ]
    assert result.frames_deleted == (rows[1].frame_id,)  # type: ignore[attr-defined]
    assert len(result.frames_added) == 1  # type: ignore[attr-defined]
    versions = {r.frame_id: r.lock_version for r in _rows(runtime, board)}
    assert versions[rows[0].frame_id] == 2  # moved from 1.1 to 1.2
    assert versions[rows[6].frame_id] == 1  # shot 3 untouched
    with runtime.sessions() as s:
        deleted = s.get(Frame, rows[1].frame_id)
        assert deleted is not None and deleted.deleted_at is not None  # soft


def test_shots_can_be_added_deleted_reordered_and_summarised(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    shot_ids = [rows[i].shot_id for i in (0, 3, 6, 9)]
    _save(runtime, board, [
        MoveShot(shot_ids[3], position=1),
        DeleteShot(shot_ids[1]),
        AddShot(position=2, summary="A new shot", frame_texts=("New frame one.", "New frame two.")),
        EditShotSummary(shot_ids[0], "The opening", expected_version=1),
    ])
    texts = _texts(runtime, board)
    assert texts[:5] == [(1, 1, "Sentence 10."), (1, 2, "Sentence 11."), (1, 3, "Sentence 12."),
                         (2, 1, "New frame one."), (2, 2, "New frame two.")]
    assert [t for t in texts if t[0] == 3][0] == (3, 1, "Sentence 1.")
    assert {t[2] for t in texts}.isdisjoint({"Sentence 4.", "Sentence 5.", "Sentence 6."})
    with runtime.sessions() as s:
        live = s.scalars(select(Shot).where(Shot.storyboard_id == board, Shot.deleted_at.is_(None))
                         .order_by(Shot.position)).all()
        assert [sh.summary for sh in live][1] == "A new shot"
        assert [sh.position for sh in live] == [1, 2, 3, 4]
        assert s.get(Shot, shot_ids[0]).summary == "The opening"  # type: ignore[union-attr]
        gone = s.scalars(select(Frame).where(Frame.shot_id == shot_ids[1])).all()
        assert all(f.deleted_at is not None for f in gone)


def test_a_rejected_change_set_changes_nothing(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    before = _texts(runtime, board)
    with pytest.raises(ValidationError, match="positions 1 to 4"):
        _save(runtime, board, [EditSceneText(rows[0].frame_id, "Changed.", expected_version=1),
                               AddFrame(rows[0].shot_id, "Too far.", position=9)])
    with pytest.raises(ValidationError, match="at least one frame"):
        _save(runtime, board, [DeleteFrame(r.frame_id) for r in rows[:3]])
    with pytest.raises(NotFoundError):
        _save(runtime, board, [EditSceneText(10_000, "x", expected_version=1)])
    assert _texts(runtime, board) == before
    assert all(r.lock_version == 1 for r in _rows(runtime, board))


def test_locked_frames_refuse_edits(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    with runtime.sessions() as s:
        s.get(Frame, rows[0].frame_id).review_status = "locked"  # type: ignore[union-attr]
        s.commit()
    with pytest.raises(GateError, match="Frame 1.1 is locked"):
        _save(runtime, board, [EditSceneText(rows[0].frame_id, "No.", expected_version=1)])


def test_editing_a_frame_someone_deleted_is_a_conflict_that_keeps_the_text(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    _save(runtime, board, [DeleteFrame(rows[0].frame_id, expected_version=1)])
    with pytest.raises(GridConflict, match="deleted by someone else") as err:
        _save(runtime, board, [EditSceneText(rows[0].frame_id, "My edit.", expected_version=1)])
    assert err.value.kept_text == "My edit."


def test_a_rebuilt_storyboard_can_no_longer_be_edited(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    with runtime.sessions() as s:
        video_id = s.scalar(select(Video.id))
        rebuild_storyboard(s, video_id, shots=2, frames=2)  # type: ignore[arg-type]
        s.commit()
    with pytest.raises(ConflictError, match="rebuilt"):
        _save(runtime, board, [EditSceneText(rows[0].frame_id, "x", expected_version=1)])


def test_editor_delta_maps_edits_moves_deletions_and_additions(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    delta = {
        "edited_rows": {"0": {"scene_text": "Edited in the grid."}, 4: {"shot": 1}},  # keys may be str or int
        "deleted_rows": [2],
        "added_rows": [
            {"scene_text": "Appended to shot 3.", "shot": 3},
            {"scene_text": "A fifth shot.", "shot": 5},
            {"scene_text": "Its second frame.", "shot": 5},
            {"scene_text": float("nan"), "shot": 2, "frame": 1},  # pandas gives NaN for an empty cell
        ],
    }
    with runtime.sessions() as s:
        apply_editor_delta(s, board, rows, delta, actor="tester")
        s.commit()
    texts = _texts(runtime, board)
    assert texts[:3] == [(1, 1, "Edited in the grid."), (1, 2, "Sentence 2."), (1, 3, "Sentence 5.")]
    assert texts[3:6] == [(2, 1, ""), (2, 2, "Sentence 4."), (2, 3, "Sentence 6.")]
    assert (3, 4, "Appended to shot 3.") in texts
    assert texts[-2:] == [(5, 1, "A fifth shot."), (5, 2, "Its second frame.")]
    assert "Sentence 3." not in {t[2] for t in texts}


def test_editor_delta_with_a_stale_row_is_rejected_whole(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    _save(runtime, board, [EditSceneText(rows[7].frame_id, "Someone else.", expected_version=1)])
    with runtime.sessions() as s:
        with pytest.raises(GridConflict, match="Frame 3.2 was changed"):
            apply_editor_delta(s, board, rows, {"edited_rows": {7: {"scene_text": "Mine."}},
                                                "added_rows": [{"scene_text": "extra", "shot": 1}]})
        s.rollback()
    assert len(_rows(runtime, board)) == 12


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        ({"edited_rows": {0: {"lock_version": 7}}}, "cannot be edited"),
        ({"edited_rows": {0: {"shot": 9}}}, "no shot 9"),
        ({"edited_rows": {0: {"frame": 1.5}}}, "whole number"),
        ({"added_rows": [{"scene_text": "x", "shot": 7}]}, "shots 1 to 5"),
    ],
)
def test_editor_delta_rejects_impossible_edits(runtime: Runtime, delta: dict, message: str) -> None:  # type: ignore[type-arg]
    board = _storyboard(runtime)
    rows = _rows(runtime, board)
    with runtime.sessions() as s:
        with pytest.raises(ValidationError, match=message):
            apply_editor_delta(s, board, rows, delta)


def test_current_storyboard_of_the_helper_video(runtime: Runtime) -> None:
    board = _storyboard(runtime)
    with runtime.sessions() as s:
        video_id = s.scalar(select(Video.id))
        assert current_storyboard(s, video_id).id == board  # type: ignore[arg-type]
