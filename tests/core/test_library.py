from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from sqlalchemy import func, select

from core.errors import IngestError, NotFoundError, ValidationError
from core.library import (
    archive_script,
    current_storyboard,
    get_video,
    ingest_file,
    list_scripts,
    list_storyboards,
    list_videos,
    rebuild_storyboard,
    restore_script,
    set_current_storyboard,
    source_path,
    storyboard_json,
)
from core.models import Activity, Frame, Shot, SourceFile, Storyboard, StyleBible, Video
from core.runtime import Runtime
from core.sentences import split_sentences
from core.board_layout import Density
from core.storyboard_store import offline_board
from tests.core.docx_factory import make_docx

INTRO = "مرحبا بكم في دورة الذكاء الاصطناعي. سنتعلم معا خطوة بخطوة."
BODY_1 = ("في هذا الفيديو نتعرف على البيانات. ما هي البيانات؟ هي حقائق وأرقام؛ نجمعها من العالم. "
          "تبلغ نسبة الدقة ٩٥٫٥ بالمئة. هذا رقم ممتاز! ثم ننتقل إلى التدريب.")
BODY_2 = "الخوارزميات تتعلم من الأمثلة. كل مثال له تسمية. نقيس الخطأ ونصححه."


def _script() -> bytes:
    return make_docx([
        ("para", INTRO),
        ("heading", "الفيديو الأول: البيانات"),
        ("para", BODY_1),
        ("bold", "الفيديو الثاني - الخوارزميات"),
        ("para", BODY_2),
        ("table", [["المفهوم", "المعنى"], ["تدريب", "تعلم من الأمثلة"]]),
    ])


def _ingest(runtime: Runtime, data: bytes, name: str = "course.docx", **kw: object) -> object:
    with runtime.sessions() as s:
        result = ingest_file(s, data, name, settings=runtime.settings, actor="tester", **kw)  # type: ignore[arg-type]
        s.commit()
        return result


def _sources_dir(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "sources"


def test_ingest_stores_file_videos_and_storyboard_version_one(runtime: Runtime) -> None:
    data = _script()
    result = _ingest(runtime, data, "C:\\Users\\me\\دورة.docx")
    assert result.created is True  # type: ignore[attr-defined]
    with runtime.sessions() as s:
        source = s.get(SourceFile, result.source_file_id)  # type: ignore[attr-defined]
        assert source is not None
        assert source.original_name == "دورة.docx"
        assert source.preface == INTRO
        assert source.size_bytes == len(data)
        stored = source_path(runtime.settings, source)
        assert stored.read_bytes() == data
        assert stored.parent == _sources_dir(runtime) and "دورة" not in stored.name
        assert s.scalar(select(StyleBible).where(StyleBible.source_file_id == source.id)) is not None

        videos = list_videos(s, source.id)
        assert [(v.position, v.number, v.title) for v in videos] == [(1, 1, "البيانات"), (2, 2, "الخوارزميات")]
        assert videos[0].body == BODY_1
        board = current_storyboard(s, videos[0].id)
        assert (board.version, board.shots_requested, board.frames_requested) == (1, 4, 3)
        shots = board.shots
        assert [sh.position for sh in shots] == [1, 2, 3, 4]
        # 7 sentences for a 4 × 3 grid: 7 frames, each with its own sentence, and a note saying so.
        assert [len(sh.frames) for sh in shots] == [2, 2, 2, 1]
        assert "7 sentences" in board.note and board.density == "fixed"
        assert [f.beat for sh in shots for f in sh.frames] == split_sentences(BODY_1)
        assert all(f.scene_text for sh in shots for f in sh.frames)
        # The shots' narration covers the video body sentence by sentence, in order, each sentence once.
        assert [x for sh in shots for x in split_sentences(sh.narration)] == split_sentences(BODY_1)
        assert s.scalar(select(Activity.action).where(Activity.source_file_id == source.id)) == "ingest"


def test_narration_is_read_from_the_video_body_not_stored_a_third_time(runtime: Runtime) -> None:
    result = _ingest(runtime, _script())
    with runtime.sessions() as s:
        video = list_videos(s, result.source_file_id)[0]  # type: ignore[attr-defined]
        rows = offline_board(video.body, Density())
        planned = [video.body[shot.span[0]:shot.span[1]] for shot in rows.shots]
        shots = current_storyboard(s, video.id).shots
        assert [sh.narration for sh in shots] == planned and all(planned)
        assert all(sh.narration_text == "" and sh.narration_end is not None for sh in shots)  # only the span
        # The same text when a query selects the column (as the studio's board query does).
        rows = s.execute(select(Shot.position, Shot.narration).where(Shot.id.in_([sh.id for sh in shots]))
                         .order_by(Shot.position)).all()
        assert [row.narration for row in rows] == planned


def test_same_bytes_give_the_same_file_and_nothing_is_rebuilt(runtime: Runtime) -> None:
    data = _script()
    first = _ingest(runtime, data, "a.docx")
    second = _ingest(runtime, data, "renamed.docx", shots=2, frames=2)
    assert second.source_file_id == first.source_file_id  # type: ignore[attr-defined]
    assert second.created is False  # type: ignore[attr-defined]
    assert second.video_ids == first.video_ids  # type: ignore[attr-defined]
    with runtime.sessions() as s:
        assert s.scalar(select(func.count(SourceFile.id))) == 1
        assert s.scalar(select(func.count(Storyboard.id))) == 2  # one per video, not rebuilt
    assert len(list(_sources_dir(runtime).iterdir())) == 1


def test_custom_counts_shape_every_storyboard(runtime: Runtime) -> None:
    result = _ingest(runtime, _script(), shots=2, frames=5)
    with runtime.sessions() as s:
        doc = storyboard_json(s, result.source_file_id)  # type: ignore[attr-defined]
    # 7 and 5 sentences: as many frames as sentences (at most 2 × 5), in 2 shots of at most 5 frames.
    assert [[len(sh["frames"]) for sh in video["shots"]] for video in doc["videos"]] == [[4, 3], [3, 2]]


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_a_rejected_file_writes_nothing(runtime: Runtime, data: bytes) -> None:
    with runtime.sessions() as s:
        with pytest.raises(IngestError):
            ingest_file(s, data, "bad.docx", settings=runtime.settings)
        s.commit()
        assert s.scalar(select(func.count(SourceFile.id))) == 0
        assert s.scalar(select(func.count(Activity.id))) == 0
    assert not _sources_dir(runtime).exists() or not any(_sources_dir(runtime).iterdir())


def test_bad_counts_are_rejected_before_anything_is_written(runtime: Runtime) -> None:
    with runtime.sessions() as s:
        with pytest.raises(ValidationError):
            ingest_file(s, _script(), "x.docx", settings=runtime.settings, shots=0)
        assert s.scalar(select(func.count(SourceFile.id))) == 0
    assert not _sources_dir(runtime).exists()


def test_a_failed_transaction_leaves_no_rows_and_only_a_reusable_file(runtime: Runtime) -> None:
    data = _script()
    with runtime.sessions() as s:
        with mock.patch("core.library.log_activity", side_effect=RuntimeError("database went away")):
            with pytest.raises(RuntimeError):
                ingest_file(s, data, "x.docx", settings=runtime.settings)
        s.rollback()
        assert s.scalar(select(func.count(SourceFile.id))) == 0
    leftovers = list(_sources_dir(runtime).iterdir())
    assert [p.name for p in leftovers] == [f"{__import__('hashlib').sha256(data).hexdigest()}.docx"]
    result = _ingest(runtime, data)  # the content-addressed copy is simply reused
    assert result.created is True  # type: ignore[attr-defined]
    assert len(list(_sources_dir(runtime).iterdir())) == 1


def test_rebuild_makes_a_new_current_version_and_keeps_the_old(runtime: Runtime) -> None:
    result = _ingest(runtime, _script())
    video_id = result.video_ids[0]  # type: ignore[attr-defined]
    with runtime.sessions() as s:
        old = current_storyboard(s, video_id)
        new = rebuild_storyboard(s, video_id, shots=2, frames=2, actor="tester")
        s.commit()
        assert (new.version, new.is_current) == (2, True)
        versions = list_storyboards(s, video_id)
        assert [(b.version, b.is_current) for b in versions] == [(1, False), (2, True)]
        assert current_storyboard(s, video_id).id == new.id
        assert len(s.scalars(select(Shot).where(Shot.storyboard_id == old.id)).all()) == 4  # still there
        third = rebuild_storyboard(s, video_id, shots=3, frames=1)
        s.commit()
        assert third.version == 3
        set_current_storyboard(s, old.id)
        s.commit()
        assert current_storyboard(s, video_id).version == 1
        assert s.scalar(select(func.count(Storyboard.id)).where(Storyboard.video_id == video_id,
                                                                 Storyboard.is_current.is_(True))) == 1
    with runtime.sessions() as s:
        doc = storyboard_json(s, result.source_file_id)  # type: ignore[attr-defined]
        assert doc["videos"][0]["storyboard"]["version"] == 1


def test_storyboard_json_lists_live_rows_with_ids_and_selections(runtime: Runtime) -> None:
    result = _ingest(runtime, _script())
    with runtime.sessions() as s:
        frame = s.scalars(select(Frame).order_by(Frame.id)).first()
        assert frame is not None
        frame.deleted_at = frame.shot.storyboard.created_at  # soft-deleted frames are left out
        s.commit()
        doc = storyboard_json(s, result.source_file_id)  # type: ignore[attr-defined]
    first = doc["videos"][0]
    assert doc["file"]["preface"] == INTRO
    assert [f["position"] for f in first["shots"][0]["frames"]] == [2]  # shot 1 had two frames
    sample = first["shots"][1]["frames"][0]
    assert set(sample) >= {"id", "position", "scene_text", "status", "lock_version", "selected_prompt_id",
                           "selected_image_id"}
    assert first["shots"][1]["summary"] and first["shots"][1]["narration"]
    assert doc["videos"][1]["title"] == "الخوارزميات"


def test_list_scripts_counts_progress_and_hides_archived(runtime: Runtime) -> None:
    first = _ingest(runtime, _script(), "one.docx")
    second = _ingest(runtime, make_docx([("heading", "Video 1"), ("para", "Hello there. General Kenobi.")]),
                     "two.docx", shots=1, frames=2)
    with runtime.sessions() as s:
        frames = s.scalars(select(Frame).join(Shot).join(Storyboard).join(Video)
                           .where(Video.source_file_id == first.source_file_id)).all()  # type: ignore[attr-defined]
        frames[0].selected_prompt_id = None  # counts stay at zero until prompts exist
        s.commit()
        rows = {r.id: r for r in list_scripts(s)}
    one = rows[first.source_file_id]  # type: ignore[attr-defined]
    assert (one.video_count, one.shot_count, one.frame_count) == (2, 8, 12)  # one frame per sentence (7 + 5)
    assert (one.frames_with_prompt, one.frames_with_image, one.shots_with_clip) == (0, 0, 0)
    assert one.original_name == "one.docx" and one.archived is False
    assert one.last_activity_at is not None and one.last_activity_at.tzinfo is not None
    two = rows[second.source_file_id]  # type: ignore[attr-defined]
    assert (two.video_count, two.shot_count, two.frame_count) == (1, 1, 2)

    with runtime.sessions() as s:
        archive_script(s, first.source_file_id, actor="tester")  # type: ignore[attr-defined]
        s.commit()
        assert [r.id for r in list_scripts(s)] == [second.source_file_id]  # type: ignore[attr-defined]
        assert {r.id for r in list_scripts(s, include_archived=True)} == set(rows)
        assert [r.archived for r in list_scripts(s, include_archived=True) if r.id == first.source_file_id] == [True]  # type: ignore[attr-defined]
        restore_script(s, first.source_file_id, actor="tester")  # type: ignore[attr-defined]
        s.commit()
        # Most recently active first: the restore just happened.
        assert [r.id for r in list_scripts(s)][0] == first.source_file_id  # type: ignore[attr-defined]


def test_uploading_an_archived_script_again_brings_it_back(runtime: Runtime) -> None:
    data = _script()
    first = _ingest(runtime, data)
    with runtime.sessions() as s:
        archive_script(s, first.source_file_id)  # type: ignore[attr-defined]
        s.commit()
    again = _ingest(runtime, data)
    assert again.created is False  # type: ignore[attr-defined]
    with runtime.sessions() as s:
        assert [r.id for r in list_scripts(s)] == [first.source_file_id]  # type: ignore[attr-defined]


def test_missing_ids_raise_not_found(runtime: Runtime) -> None:
    with runtime.sessions() as s:
        for call in (lambda: get_video(s, 999), lambda: storyboard_json(s, 999), lambda: current_storyboard(s, 999),
                     lambda: archive_script(s, 999), lambda: rebuild_storyboard(s, 999, shots=1, frames=1)):
            with pytest.raises(NotFoundError):
                call()


def test_many_videos_round_trip(runtime: Runtime) -> None:
    blocks: list[tuple[object, ...]] = [("para", "Course preface.")]
    for n in range(1, 27):
        blocks += [("heading", f"Video {n}: Part {n}"), ("para", f"Lesson {n} begins. It has a middle. It ends.")]
    result = _ingest(runtime, make_docx(blocks), shots=1, frames=3)
    with runtime.sessions() as s:
        doc = storyboard_json(s, result.source_file_id)  # type: ignore[attr-defined]
    assert [v["number"] for v in doc["videos"]] == list(range(1, 27))
    assert doc["videos"][25]["shots"][0]["frames"][2]["scene_text"] == "It ends."


def test_list_scripts_uses_the_same_few_queries_for_any_number_of_scripts(sqlite_runtime: Runtime) -> None:
    from sqlalchemy import event

    def count_queries() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731 - (conn, cursor, statement, …)
        event.listen(sqlite_runtime.engine, "before_cursor_execute", listener)
        try:
            with sqlite_runtime.sessions() as s:
                list_scripts(s, include_archived=True)
        finally:
            event.remove(sqlite_runtime.engine, "before_cursor_execute", listener)
        return len(seen)

    _ingest(sqlite_runtime, make_docx([("heading", "Video 1"), ("para", "Only one. Script here.")]))
    one = count_queries()
    for n in range(2, 5):
        _ingest(sqlite_runtime, make_docx([("heading", "Video 1"), ("para", f"Script {n}. Has text.")]))
    assert count_queries() == one <= 5
