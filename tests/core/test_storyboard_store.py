"""Storing a shot plan as a storyboard version (core.storyboard_store.store_plan)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.errors import PlanError, ValidationError
from core.library import current_storyboard, ingest_file, list_storyboards, list_videos
from core.models import Activity, Frame, Shot, Storyboard
from core.planner.types import KeyframePlan, PlannedShot, ShotPlanReply
from core.runtime import Runtime
from core.sentences import split_sentences
from core.storyboard_store import board_from_plan, share_out, store_plan
from tests.core.docx_factory import make_docx

S1 = "Welcome to the course on data."
S2 = "Data is facts and numbers we collect."
S3 = "We clean it before we use it."
S4 = "Then we train a model on it."
S5 = "Finally we test the model on new data."


def _ingest(runtime: Runtime) -> int:
    data = make_docx([
        ("heading", "Video 1: Data"),
        ("para", "Scene: the trainer stands at a whiteboard."),
        ("para", f"{S1} {S2}"),
        ("para", "[Visual: a spreadsheet fills the screen]"),
        ("para", S3),
        ("heading", "Scene 2: The lab", 3),
        ("para", f"{S4} {S5}"),
        ("para", "Music: soft outro."),
    ])
    with runtime.sessions() as s:
        result = ingest_file(s, data, "course.docx", settings=runtime.settings)
        s.commit()
        return result.video_ids[0]


def _shot(a: int, b: int, *pictures: str, size: str = "wide", move: str = "static", **kw: object) -> PlannedShot:
    return PlannedShot(first_sentence=a, last_sentence=b, shot_size=size, camera_move=move,
                       keyframes=tuple(KeyframePlan(description=p) for p in pictures), **kw)  # type: ignore[arg-type]


def _store(s, video_id: int, reply: ShotPlanReply, **kw: object) -> Storyboard:
    args: dict[str, object] = {"planner": "openai", "model": "gpt-test", "template_version": "plan-v1",
                               "density": "fixed", "pace_s": None, "input_hash": "h" * 64, "actor": "tester"}
    args.update(kw)
    return store_plan(s, video_id, reply, **args)  # type: ignore[arg-type]


def test_a_valid_plan_becomes_the_current_version_with_spans_directions_scenes_and_keyframes(
        runtime: Runtime) -> None:
    video_id = _ingest(runtime)
    reply = ShotPlanReply(shots=(
        _shot(1, 2, "trainer at the whiteboard, wide", "close on the word DATA", size="Wide", move="Push-in",
              subject="the trainer", action="writes", location="classroom", on_screen_text="Data",
              motion_prompt="slow push in on the trainer"),
        _shot(3, 3, "a spreadsheet full of numbers"),
        _shot(4, 5, "a model training on a laptop", "test results on screen", size="close-up"),
    ))
    with runtime.sessions() as s:
        board = _store(s, video_id, reply, note="planned by AI")
        s.commit()
        board_id, version = board.id, board.version
    with runtime.sessions() as s:
        board = current_storyboard(s, video_id)
        assert (board.id, board.version) == (board_id, 2)
        assert (board.planner, board.planner_model, board.template_version) == ("openai", "gpt-test", "plan-v1")
        assert (board.density, board.pace_s, board.plan_input_hash, board.note) == ("fixed", None, "h" * 64,
                                                                                    "planned by AI")
        assert [v.version for v in list_storyboards(s, video_id)] == [1, 2]
        shots = list(s.scalars(select(Shot).where(Shot.storyboard_id == board.id).order_by(Shot.position)))
        assert [sh.narration for sh in shots] == [f"{S1} {S2}", S3, f"{S4} {S5}"]
        assert shots[0].directions == ["Scene: the trainer stands at a whiteboard."]
        assert shots[1].directions == ["[Visual: a spreadsheet fills the screen]"]
        assert shots[2].directions == ["Music: soft outro."]
        assert [sh.scene for sh in shots] == [0, 0, 1]
        assert (shots[0].shot_size, shots[0].camera_move) == ("wide", "push in")  # spelled as the vocabulary
        assert (shots[0].subject, shots[0].action, shots[0].location, shots[0].on_screen_text) == (
            "the trainer", "writes", "classroom", "Data")
        assert shots[0].motion_prompt == "slow push in on the trainer"
        frames = {sh.position: list(s.scalars(select(Frame).where(Frame.shot_id == sh.id).order_by(Frame.position)))
                  for sh in shots}
        assert [(f.scene_text, f.beat) for f in frames[1]] == [("trainer at the whiteboard, wide", S1),
                                                                ("close on the word DATA", S2)]
        assert [(f.scene_text, f.beat) for f in frames[2]] == [("a spreadsheet full of numbers", S3)]
        assert [f.beat for f in frames[3]] == [S4, S5]
        entry = s.scalars(select(Activity).where(Activity.action == "plan_storyboard")).one()
        assert entry.detail["version"] == version and entry.detail["frames"] == 5


@pytest.mark.parametrize("reply, words", [
    (ShotPlanReply(shots=(_shot(1, 2, "a"), _shot(4, 5, "b"))), "dropped"),
    (ShotPlanReply(shots=(_shot(1, 3, "a"), _shot(3, 5, "b"))), "repeat"),
    (ShotPlanReply(shots=(_shot(1, 5, "a", move="zoom"),)), "camera move"),
    (ShotPlanReply(shots=(_shot(1, 2, "the same picture"), _shot(3, 5, "The same  picture"))), "same picture"),
    (ShotPlanReply(shots=(_shot(1, 6, "a"),)), "does not exist"),
])
def test_an_invalid_plan_writes_nothing_and_says_why(runtime: Runtime, reply: ShotPlanReply, words: str) -> None:
    video_id = _ingest(runtime)
    with runtime.sessions() as s:
        with pytest.raises(PlanError) as err:
            _store(s, video_id, reply)
        assert any(words in p for p in err.value.problems)
        assert words in str(err.value)
        s.rollback()
    with runtime.sessions() as s:
        assert s.scalar(select(func.count(Storyboard.id))) == 1
        assert current_storyboard(s, video_id).version == 1


def test_an_unknown_density_is_refused(runtime: Runtime) -> None:
    video_id = _ingest(runtime)
    with runtime.sessions() as s, pytest.raises(ValidationError, match="density"):
        _store(s, video_id, ShotPlanReply(shots=(_shot(1, 5, "a"),)), density="dense")


def test_a_keyframe_beat_from_the_planner_is_kept_and_extra_keyframes_get_no_repeated_beat() -> None:
    body = f"{S1} {S2}"
    reply = ShotPlanReply(shots=(PlannedShot(
        first_sentence=1, last_sentence=2, shot_size="wide", camera_move="static",
        keyframes=(KeyframePlan(description="one", beat="own beat"), KeyframePlan(description="two"),
                   KeyframePlan(description="three"), KeyframePlan(description="  "))),))
    rows = board_from_plan(body, reply)
    assert [(f.scene_text, f.beat) for f in rows.shots[0].frames] == [("one", "own beat"), ("two", S2),
                                                                       ("three", "")]


def test_sentences_are_shared_out_over_keyframes_in_order_without_loss() -> None:
    sentences = split_sentences(" ".join([S1, S2, S3, S4, S5]))
    for parts in range(1, 8):
        beats = share_out(sentences, parts)
        assert len(beats) == parts
        assert " ".join(b for b in beats if b) == " ".join(sentences)
        filled = [b for b in beats if b]
        assert len(filled) == min(parts, len(sentences))


def test_a_stored_plan_leaves_other_videos_and_old_versions_readable(runtime: Runtime) -> None:
    video_id = _ingest(runtime)
    with runtime.sessions() as s:
        _store(s, video_id, ShotPlanReply(shots=(_shot(1, 5, "everything at once"),)))
        s.commit()
    with runtime.sessions() as s:
        old = list_storyboards(s, video_id)[0]
        assert not old.is_current and old.builder_version
        assert sum(len(sh.frames) for sh in old.shots) >= 1
        assert len(list_videos(s, 1)) == 1


def _ingest_many(runtime: Runtime, n: int) -> list[int]:
    blocks: list[tuple[str, str]] = []
    for v in range(1, n + 1):
        blocks += [("heading", f"Video {v}: Data {v}"), ("para", f"{S1} {S2} {S3} {S4} {S5}")]
    with runtime.sessions() as s:
        ids = list(ingest_file(s, make_docx(blocks), "many.docx", settings=runtime.settings).video_ids)
        s.commit()
    return ids


def _plan_for(video: int) -> ShotPlanReply:
    return ShotPlanReply(shots=(_shot(1, 2, f"video {video}: the trainer at a whiteboard"),
                                _shot(3, 5, f"video {video}: a laptop training a model")))


def test_plans_of_many_videos_are_stored_together_in_a_constant_number_of_statements(runtime: Runtime) -> None:
    """A batch stores the videos that finished meanwhile at once: eight boards cost the statements of one (on
    SQLite the single writer's time after the last reply is the batch's tail)."""
    from sqlalchemy import event

    from core.storyboard_store import PlanToStore, store_plans

    def count(video_ids: list[int]) -> int:
        seen = []
        # The activity log is one row per video (the ORM inserts those one by one on SQLite, cheaply).
        listener = lambda conn, cur, stmt, *a: seen.append(stmt) if "INTO activity" not in stmt else None  # noqa
        event.listen(runtime.engine, "before_cursor_execute", listener)
        try:
            with runtime.sessions() as s:
                boards = store_plans(s, [PlanToStore(v, _plan_for(v), planner="openai", model="m",
                                                     template_version="plan-1", density="fixed", pace_s=None,
                                                     input_hash=f"{v:064d}") for v in video_ids], actor="t")
                assert [b.video_id for b in boards] == video_ids and {b.version for b in boards} == {2}
                s.commit()
        finally:
            event.remove(runtime.engine, "before_cursor_execute", listener)
        return len(seen)

    ids = _ingest_many(runtime, 9)
    one, eight = count(ids[:1]), count(ids[1:])
    assert eight == one, (one, eight)
    with runtime.sessions() as s:
        for video_id in ids:
            board = current_storyboard(s, video_id)
            assert board.version == 2 and board.plan_input_hash == f"{video_id:064d}"
            shots = list(s.scalars(select(Shot).where(Shot.storyboard_id == board.id).order_by(Shot.position)))
            assert [sh.narration for sh in shots] == [f"{S1} {S2}", f"{S3} {S4} {S5}"]
            assert len(list_storyboards(s, video_id)) == 2


def test_one_bad_plan_among_many_stores_none(runtime: Runtime) -> None:
    from core.storyboard_store import PlanToStore, store_plans

    ids = _ingest_many(runtime, 3)
    bad = ShotPlanReply(shots=(_shot(1, 2, "a whiteboard"), _shot(4, 5, "a laptop")))  # sentence 3 dropped
    plans = [PlanToStore(v, bad if v == ids[1] else _plan_for(v), planner="openai", model="m",
                         template_version="plan-1", density="fixed", pace_s=None, input_hash="h" * 64)
             for v in ids]
    with runtime.sessions() as s:
        with pytest.raises(PlanError) as err:
            store_plans(s, plans)
        s.rollback()
    assert err.value.video_id == ids[1] and "3" in str(err.value)
    with runtime.sessions() as s:
        assert [current_storyboard(s, v).version for v in ids] == [1, 1, 1]
