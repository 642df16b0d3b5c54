"""Script and model text full of markup reaches every page as text, never as HTML or markdown.

The script's title, scene text, a prompt version, a comment and the uploaded file's name all carry
`<img src=x onerror=alert(1)>`, `<script>` and markdown that would load an image; every page is opened and every
element it sends is inspected. Raw HTML elements (and markdown allowed to carry HTML) must not contain the
markup; plain markdown must carry it escaped. The static side is tests/core/test_no_unsafe_html.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.jobs import request_video_images
from core.jobs.worker import Worker
from core.library import ingest_file
from core.models import Frame, Job, Video
from core.prompts import OfflineRefiner, add_manual_version, frames_in_scope, refine_frames
from core.review import add_comment
from core.runtime import Runtime
from tests.core.docx_factory import make_docx

PAGES = ("library", "storyboard", "prompts", "images", "clips", "jobs", "review", "exports", "settings")
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
TRACKER = "![t](https://tracker.invalid/p.png)"
HTML_MARKERS = ("<img src=x", "<script>")  # markup; in raw HTML the markdown image is harmless text
MD_MARKERS = HTML_MARKERS + ("](https://tracker.invalid",)  # markdown would also load the image


def walk(node: Any) -> Iterator[Any]:
    """Every element of an AppTest tree (blocks and their children, depth first)."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from walk(child)


def page_elements(at: AppTest) -> list[tuple[str, Any]]:
    """(type, proto) of every element on the page, main area and sidebar."""
    return [(getattr(el, "type", ""), el.proto) for el in walk(at._tree) if getattr(el, "proto", None) is not None]


def hostile_docx() -> bytes:
    return make_docx([
        ("heading", f"دورة {SCRIPT} الألوان"),
        ("heading", f"الفيديو الأول: مقدمة {IMG} {TRACKER}"),
        ("para", f"مرحبا بكم {IMG} في هذه الدورة. نرسم {SCRIPT} لوحة {TRACKER} بسيطة. الألوان الأساسية ثلاثة."),
        ("para", "نمزج الألوان لنحصل على ألوان جديدة. هذا ما يسمى عجلة الألوان."),
    ])


def seed(rt: Runtime) -> tuple[int, int]:
    """A script with markup everywhere a producer's or a model's text can go; returns (file id, video id)."""
    with session_scope(rt.sessions) as s:
        file_id = ingest_file(s, hostile_docx(), f"{IMG}.docx", settings=rt.settings, shots=2, frames=2,
                              actor="seed").source_file_id
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id)).one()
    with rt.sessions() as s:
        frame_ids = frames_in_scope(s, video_id=video_id)
    refine_frames(rt.sessions, frame_ids, OfflineRefiner(), concurrency=1)
    with session_scope(rt.sessions) as s:
        add_manual_version(s, frame_ids[0], f"A teacher {IMG} {SCRIPT} {TRACKER}", author=f"{SCRIPT}")
        frame = s.get(Frame, frame_ids[0])
        assert frame is not None
        add_comment(s, "frame", frame.id, f"Fix this {IMG} {TRACKER}", author="Test Producer")
        request_video_images(s, video_id, settings=rt.settings)
    Worker(rt, idle_s=0.02).run(drain=True)
    with session_scope(rt.sessions) as s:  # a provider's reply in a job error is outside text too
        job = s.scalars(select(Job).order_by(Job.id)).first()
        assert job is not None
        job.status, job.error, job.error_category = "failed", f"Provider said {IMG} {TRACKER}", "provider"
    return file_id, video_id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_markup_in_script_and_model_text_is_shown_as_text_on_every_page(
        open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id, video_id = seed(studio_rt)
    shown_escaped: dict[str, bool] = {}
    for page in PAGES:
        at = open_app(page, script=file_id, video=video_id)
        assert not at.exception, (page, [e.value for e in at.exception])
        escaped = False
        for kind, proto in page_elements(at):
            # st.markdown, caption, title, header…, and st.error / warning / toast, which draw markdown too
            markdown = type(proto).__name__ in ("Markdown", "Heading", "Alert", "Toast")
            if kind == "html" or (markdown and getattr(proto, "allow_html", False)):
                body = proto.body
                assert not any(m in body for m in HTML_MARKERS), (page, "raw HTML carries markup", body[:300])
                escaped |= "&lt;img src=x" in body
            elif markdown:
                body = proto.body
                assert not any(m in body for m in MD_MARKERS), (page, kind, "unescaped markdown", body[:300])
                escaped |= r"\<img src\=x onerror\=alert\(1\)\>" in body
            elif type(proto).__name__ == "Button":  # labels render markdown: a title must not load an image
                assert "](https://tracker.invalid" not in proto.label, (page, "unescaped label", proto.label)
            else:
                escaped |= IMG in str(proto)  # widget values and options, tables: always plain text
        shown_escaped[page] = escaped
    # The text was really on the pages that show script, prompt and comment text (and shown as text).
    assert all(shown_escaped[p] for p in ("library", "storyboard", "prompts", "review")), shown_escaped


def test_an_error_quoting_an_upload_part_name_is_shown_as_text() -> None:
    """An ingest error names the document part it refused; the part name comes from the upload."""
    def page() -> None:
        from core.errors import IngestError
        from studio.widgets import show_ingest_error

        show_ingest_error(IngestError("The document part word/![t](https://tracker.invalid/p.png).xml is too large",
                                      category="too_large"))

    at = AppTest.from_function(page)
    at.run()
    body = at.error[0].proto.body
    assert "](https://tracker.invalid" not in body and r"\]\(https" in body
