"""The router: every page opens from the entry point with a script chosen, without an error or a trace;
a reload (a new session with the same address) shows the same script and video."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.models import Video
from core.runtime import Runtime
from tests.studio.conftest import ingest

PAGES = ("library", "storyboard", "prompts", "images", "clips", "jobs", "review", "exports", "settings")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_page_opens_cleanly(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt)
    with studio_rt.sessions() as s:
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id)
                             .order_by(Video.position.desc())).first()  # the second video
    for page in PAGES:
        at = open_app(page, script=file_id, video=video_id)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        # the address bar decides, so a reload or a second tab shows the same video
        assert at.session_state["video_id"] == video_id, page
        assert at.sidebar.selectbox[1].value == video_id, page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_without_a_script_point_to_the_library(open_app: Callable[..., AppTest]) -> None:
    for page in ("storyboard", "prompts", "images", "clips"):
        at = open_app(page)
        assert not at.exception
        assert any("upload a script in the Library" in i.value for i in at.info), page
