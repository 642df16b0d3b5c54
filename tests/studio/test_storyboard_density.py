"""Fixed or paced storyboards from the upload form and the Rebuild control, with a preview; the Script reading tab
corrects a misread line or table and the board follows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.library import current_storyboard
from core.models import Storyboard, Video
from core.runtime import Runtime
from tests.core.docx_factory import make_docx
from tests.studio.conftest import ingest, texts

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SENTENCE = "نتعلم في هذا الدرس كيف نقرأ البيانات ونفهمها خطوة بخطوة مع أمثلة كثيرة."


def _script() -> bytes:
    return make_docx([
        ("heading", "الفيديو الأول: طويل"), ("para", "المشهد: المدرب أمام السبورة."),
        ("para", " ".join([SENTENCE] * 40)),
        ("heading", "الفيديو الثاني: قصير"), ("para", "جملة واحدة فقط."),
    ])


def _videos(rt: Runtime) -> list[int]:
    with rt.sessions() as s:
        return list(s.scalars(select(Video.id).order_by(Video.position)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_upload_form_previews_and_builds_a_paced_board(open_app: Callable[..., AppTest],
                                                           studio_rt: Runtime) -> None:
    at = open_app()
    at.file_uploader[0].set_value(("long.docx", _script(), DOCX_MIME)).run()
    # Fixed 4 × 3 by default: the long video gets 12 frames, the one-sentence video one, with the reason.
    assert "Preview (4 × 3): 5 shots, 13 frames in 2 videos." in texts(at)
    table = at.table[0].value
    assert list(table["Frames"]) == [12, 1] and "one sentence" in table["Note"].iloc[1]
    at.radio(key="upload-kind").set_value("Paced by the narration").run()
    at.number_input(key="upload-pace").set_value(10.0).run()
    # 40 sentences of 13 words at 130 a minute: 240 s, one frame per 10 s.
    assert list(at.table[0].value["Frames"]) == [24, 1]
    next(b for b in at.button if b.label == "Ingest script").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    long_video, short_video = _videos(studio_rt)
    with studio_rt.sessions() as s:
        board = current_storyboard(s, long_video)
        assert (board.density, board.pace_s) == ("paced", 10.0)
        assert sum(len(sh.frames) for sh in board.shots) == 24 and all(len(sh.frames) <= 3 for sh in board.shots)
        assert board.shots[0].directions == ["المشهد: المدرب أمام السبورة."]
        assert "one sentence" not in board.note
        assert len(current_storyboard(s, short_video).shots) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_rebuild_offers_paced_with_a_preview_and_the_note_is_shown(open_app: Callable[..., AppTest],
                                                                   studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, _script(), shots=4, frames=3)
    long_video, short_video = _videos(studio_rt)
    at = open_app("storyboard", script=file_id, video=short_video)
    assert any("one sentence" in i.value for i in at.info)  # the board's note, visible
    at = open_app("storyboard", script=file_id, video=long_video)
    at.radio(key=f"rebuild-{long_video}-kind").set_value("Paced by the narration").run()
    at.number_input(key=f"rebuild-{long_video}-pace").set_value(20.0).run()
    at.number_input(key=f"rebuild-{long_video}-frames").set_value(2).run()
    assert "Preview (paced, one frame per 20 s, at most 2 a shot): 6 shot(s), 12 frame(s)." in texts(at)
    next(b for b in at.button if b.label == "Build new version").click()
    at.run()
    assert not at.exception
    assert "Version 2 · 6 shots · 12 frames" in texts(at)
    with studio_rt.sessions() as s:
        boards = s.scalars(select(Storyboard).where(Storyboard.video_id == long_video)
                           .order_by(Storyboard.version)).all()
        assert [(b.version, b.density) for b in boards] == [(1, "fixed"), (2, "paced")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_script_reading_tab_corrects_a_line_and_a_table(open_app: Callable[..., AppTest],
                                                            studio_rt: Runtime) -> None:
    data = make_docx([
        ("heading", "Video 1: Lab"), ("para", "Music: we sing the course song together, all of us."),
        ("para", "Welcome to the lab where we train our first model."),
        ("table", [["Hello there.", "A wide view of the lab with the whole team at work on their laptops"],
                   ["Look here.", "A close view of one laptop screen showing the training curve fall"]]),
    ])
    file_id = ingest(studio_rt, data)
    (video_id,) = _videos(studio_rt)
    at = open_app("storyboard", script=file_id, video=video_id)
    at.session_state["storyboard-tab"] = "Script reading"
    at.run()
    page = texts(at)
    assert "course song together" in page and "Table 1" in page
    next(b for b in at.button if b.label == "Read as narration").click()
    at.run()
    assert not at.exception
    with studio_rt.sessions() as s:
        assert "course song" in s.get(Video, video_id).body
        assert current_storyboard(s, video_id).version == 2
    next(b for b in at.button if b.label == "Flip columns").click()
    at.run()
    with studio_rt.sessions() as s:
        video = s.get(Video, video_id)
        assert "Hello there." in video.body and "laptop" not in video.body
        assert [d["text"][:6] for d in video.directions] == ["A wide", "A clos"]
        assert current_storyboard(s, video_id).version == 3
