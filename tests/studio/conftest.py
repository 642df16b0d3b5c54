"""AppTest wiring: the studio pointed at a temp data dir (SQLite or PostgreSQL) with offline providers.

The in-process background worker is off (`STUDIO_BACKGROUND_WORKER=0`): tests drain the queue themselves so
what a page shows after a render is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.runtime import Runtime, open_runtime
from tests.conftest import make_test_settings

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "studio" / "app.py"


@pytest.fixture
def studio_rt(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """The runtime the app under test will open (same data dir and database), for seeding and asserting."""
    data = tmp_path / "data"
    env = {
        "STUDIO_DATA_DIR": str(data),
        "DATABASE_URL": db_url,
        "STUDIO_BACKGROUND_WORKER": "0",
        "REFINER": "offline",
        "RENDERER": "offline",
        "AUTHOR_NAME": "Test Producer",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("OPENAI_API_KEY", "HF_KEY", "HF_API_KEY", "HF_API_SECRET"):
        monkeypatch.delenv(key, raising=False)
    st.cache_resource.clear()
    rt = open_runtime(make_test_settings(data, db_url, refiner="offline", renderer="offline",
                                         author_name="Test Producer"))
    yield rt
    st.cache_resource.clear()
    rt.engine.dispose()


def run_app(page: str | None = None, *, script: int | None = None, video: int | None = None,
            user: dict[str, object] | None = None, auth: dict[str, str] | None = None) -> AppTest:
    """Run the app, optionally on a page ("storyboard") with a script / video chosen via the address bar, and
    signed in as `user` against the `[auth]` secrets `auth` when given. It must run without an exception."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    if auth is not None:
        at.secrets["auth"] = auth
    if user is not None:
        at.user = user
    if script is not None:
        at.query_params["script"] = str(script)
    if video is not None:
        at.query_params["video"] = str(video)
    at.run()
    if page is not None:
        at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, (page, [e.value for e in at.exception])
    return at


@pytest.fixture
def open_app(studio_rt: Runtime) -> Callable[..., AppTest]:
    """`run_app`, once the environment points the app at `studio_rt`'s data dir and database."""
    return run_app


def texts(at: AppTest) -> str:
    """Everything a producer reads on the page, joined (markdown, captions, alerts, titles, buttons)."""
    parts: list[str] = []
    for group in (at.title, at.header, at.subheader, at.markdown, at.caption, at.error, at.warning, at.info,
                  at.success, at.toast):
        parts.extend(str(el.value) for el in group)
    parts.extend(str(b.label) for b in at.button)
    parts.extend(str(p.proto.text) for p in at.get("progress"))
    return "\n".join(parts)


def arabic_docx() -> bytes:
    """A two-video Arabic course script, built with python-docx."""
    from tests.core.docx_factory import make_docx

    return make_docx([
        ("heading", "دورة التصميم الجرافيكي"),
        ("heading", "الفيديو الأول: مقدمة في الألوان"),
        ("para", "مرحبا بكم في هذه الدورة. سنتعلم اليوم أساسيات الألوان. الألوان الأساسية هي الأحمر والأزرق والأصفر."),
        ("para", "نمزج الألوان لنحصل على ألوان جديدة. هذا ما يسمى عجلة الألوان. في النهاية سنرسم لوحة بسيطة."),
        ("heading", "الفيديو الثاني: الخطوط"),
        ("para", "الخط العربي فن جميل. نختار الخط المناسب لكل تصميم. الخطوط الواضحة أسهل في القراءة."),
    ])


def ingest(rt: Runtime, data: bytes | None = None, *, shots: int = 2, frames: int = 2) -> int:
    """Store a script directly through core (for pages other than the Library); returns its id."""
    from core.db import session_scope
    from core.library import ingest_file

    with session_scope(rt.sessions) as session:
        result = ingest_file(session, data or arabic_docx(), "course.docx", settings=rt.settings, shots=shots,
                             frames=frames, actor="seed")
    return result.source_file_id
