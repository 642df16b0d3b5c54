"""The Review and Exports pages drive the core gates and writers (Streamlit AppTest, no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.exports.data import export_dir
from core.models import Frame
from core.runtime import Runtime
from tests.core.review_factory import make_script

PAGES = Path(__file__).resolve().parents[2] / "pages"


@pytest.fixture
def page(sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(sqlite_runtime.data_dir))
    monkeypatch.setenv("DATABASE_URL", sqlite_runtime.settings.db_url)
    from studio.context import get_runtime

    get_runtime.clear()  # the cached runtime of another test must not leak in
    with sqlite_runtime.sessions() as session:
        ids = make_script(session, sqlite_runtime.data_dir, shots=1, frames=2, clip_shots=0)
        session.commit()

    def open_page(name: str) -> AppTest:
        at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
        at.session_state["script_id"] = ids.file_id
        at.session_state["video_id"] = ids.video_ids[0]
        return at.run()

    yield sqlite_runtime, ids, open_page
    get_runtime.clear()


def test_review_page_moves_frames_and_enforces_comments(page) -> None:
    rt, ids, open_page = page
    at = open_page("review")
    assert not at.exception
    first = ids.frame_ids[0]
    # "Needs changes" without a comment is refused by core and the page says why; nothing moves.
    at.button(key="review-changes").click().run()
    assert any("needs a comment" in e.value for e in at.error)
    with rt.sessions() as session:
        assert session.get(Frame, first).review_status == "draft"
    at.text_input(key=f"review-note-{first}").set_value("Wrong classroom")
    at.button(key="review-changes").click().run()
    with rt.sessions() as session:
        assert session.get(Frame, first).review_status == "needs_changes"
    # A draft is approved in one click, and the page moves on to the next waiting frame.
    at.button(key="review-approve").click().run()
    with rt.sessions() as session:
        assert session.get(Frame, ids.frame_ids[1]).review_status == "approved"
    at.button(key="review-approve").run()
    assert any("Wrong classroom" in str(m.value) for m in at.markdown)


def test_exports_page_writes_and_lists_a_pdf(page) -> None:
    rt, ids, open_page = page
    at = open_page("exports")
    at.radio(key="export-kind").set_value("shotlist").run()
    at.button[0].click().run()
    assert not at.exception
    at = _until_ready(at)
    assert [s.value for s in at.success] == ["Shot list (CSV + XLSX) ready: wrote 2 file(s)"]
    assert (export_dir(rt.data_dir, ids.file_id) / "shotlist.csv").is_file()
    assert any("shotlist.xlsx" in str(m.value) for m in at.markdown)
    assert {b.label for b in at.get("download_button")} >= {"shotlist.csv", "shotlist.xlsx"}


def _until_ready(at: AppTest, timeout_s: float = 60.0) -> AppTest:
    """Rerun the page (as its one-second refresh does) until the export job has finished."""
    import time

    end = time.monotonic() + timeout_s
    while not at.success and not at.error and time.monotonic() < end:
        time.sleep(0.2)
        at.run()
    return at


def test_a_pdf_export_runs_as_a_job_with_a_progress_bar_then_a_download(page, monkeypatch) -> None:
    # The PDF is slowed down so the page is seen while it is written: a progress bar, not a bare spinner.
    import threading

    from core.exports import pdf

    rt, ids, open_page = page
    release = threading.Event()
    real = pdf.render_storyboard_pdf

    def slow(snapshot, out, progress=None):
        def held(done, total):
            if progress is not None:
                progress(done, total)
            release.wait(30)

        return real(snapshot, out, progress=held)

    monkeypatch.setattr(pdf, "render_storyboard_pdf", slow)
    at = open_page("exports")
    at.radio(key="export-kind").set_value("pdf").run()
    at.button[0].click().run()
    import time

    for _ in range(100):  # the job reaches its first shot page
        if at.get("progress") and "Shot page" in str(at.get("progress")[0].proto.text):
            break
        time.sleep(0.1)
        at.run()
    bars = at.get("progress")
    assert bars and "PDF storyboard: Shot page 1 of 1" in bars[0].proto.text
    assert not at.success
    release.set()
    at = _until_ready(at)
    assert [s.value for s in at.success] == ["PDF storyboard ready: wrote 1 file(s)"]
    assert [b.label for b in at.get("download_button")][0] == "storyboard.pdf"


def test_the_timeline_downloads_as_one_bundle_and_stale_narration_is_warned(sqlite_runtime: Runtime,
                                                                            monkeypatch) -> None:
    from core.exports.runner import run_export
    from core.models import Shot
    from studio.context import get_runtime
    from tests.core.voice_factory import voiced_script

    rt = sqlite_runtime
    ids, _ = voiced_script(rt, voice=2)
    with rt.sessions() as session:
        session.get(Shot, ids.shot_ids[1]).narration_text = "New words the old audio never said."
        session.commit()
        run_export(session, "timeline", settings=rt.settings, file_id=ids.file_id)  # the CLI's .otio + media folder
    monkeypatch.setenv("STUDIO_DATA_DIR", str(rt.data_dir))
    monkeypatch.setenv("DATABASE_URL", rt.settings.db_url)
    get_runtime.clear()
    try:
        at = AppTest.from_file(str(PAGES / "exports.py"), default_timeout=60)
        at.session_state["script_id"] = ids.file_id
        at.run()
        at.radio(key="export-kind").set_value("timeline").run()
        at.button[0].click().run()
        at = _until_ready(at)
        assert not at.exception
        assert [s.value for s in at.success] == ["Editor timeline (OTIO bundle) ready: wrote 1 file(s)"]
        [warning] = [w.value for w in at.warning]
        assert warning.startswith("Video 1: the narration audio of shot 2 is out of date")
        # One download hands the editor everything; the files list offers no media one by one either.
        assert [b.label for b in at.get("download_button")] == ["v01.otioz",  # the job's, then the files list
                                                                 "v01.edl", "v01.otio", "v01.otioz"]
    finally:
        get_runtime.clear()
