"""Library page: upload through the file uploader, errors in words with nothing stored, archive / restore."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.models import SourceFile, Video
from core.runtime import Runtime
from tests.studio.conftest import arabic_docx, ingest, texts

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, DOCX_MIME))
    next(b for b in at.button if b.label == "Ingest script").click()
    return at.run()


def test_upload_stores_script_and_selects_it(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    at = open_app()
    assert "Your first five minutes" in texts(at)  # the empty Library says what to do
    assert "up to 50 MB (50,000,000 bytes)" in at.file_uploader[0].label
    at = _upload(at, "course.docx", arabic_docx())
    assert not at.exception and not at.error, [e.value for e in at.error]
    with studio_rt.sessions() as s:
        source = s.scalars(select(SourceFile)).one()
        assert [v.title for v in s.scalars(select(Video).order_by(Video.position))] == ["مقدمة في الألوان", "الخطوط"]
    page = texts(at)
    assert "2 videos" in page
    assert "Script ingested\\." in page  # the toast after the rerun
    assert at.session_state["script_id"] == source.id
    assert at.query_params["script"] == str(source.id)
    # the sidebar now offers the script and its first video
    assert at.sidebar.selectbox[0].value == source.id


def test_broken_file_is_explained_and_nothing_stored(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    at = _upload(open_app(), "notes.docx", b"this is not a word file")
    assert at.error, "the producer must be told why"
    assert "Traceback" not in texts(at)
    assert "Nothing was stored" in texts(at)
    assert texts(at).count("Save As") == 1  # what to do, said once
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(SourceFile.id))) == 0


def test_a_damaged_docx_gets_one_message_in_words(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    data = arabic_docx()
    at = _upload(open_app(), "course.docx", data[: len(data) // 2])
    page = texts(at)
    assert len(at.error) == 1 and "damaged" in at.error[0].value
    said = at.error[0].value + " ".join(c.value for c in at.caption if "stored" in c.value)
    assert page.count("save it again") == 1 and said.lower().count("upload") == 1, said  # the advice once
    assert "zip file" not in page and "File is not" not in page  # no Python text
    assert "Nothing was stored" in page
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(SourceFile.id))) == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_archive_and_restore(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt)
    at = open_app()
    next(b for b in at.button if b.label == "Archive").click()
    at.run()
    with studio_rt.sessions() as s:
        assert s.get(SourceFile, file_id).archived_at is not None
    assert "No scripts yet" in texts(at)
    at.toggle[0].set_value(True).run()
    next(b for b in at.button if b.label == "Restore").click()
    at.run()
    with studio_rt.sessions() as s:
        assert s.get(SourceFile, file_id).archived_at is None


def test_ingest_warnings_are_shown_after_the_upload_and_kept_on_the_script(
        open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    from tests.core.docx_factory import make_docx

    at = open_app()
    at = _upload(at, "no-headers.docx", make_docx([("para", "نص الدرس كله بلا عناوين. جملة ثانية هنا.")]))
    assert not at.exception
    assert any("No video headers were found" in w.value for w in at.warning), [w.value for w in at.warning]
    at.run()  # the next run: the warning is no longer a banner, but stays on the script
    assert not any("No video headers were found" in w.value for w in at.warning)
    assert any(e.label == "1 ingest warning(s)" for e in at.expander)
    assert "No video headers were found" in texts(at)
