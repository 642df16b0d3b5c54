"""The sidebar navigation: one link per page, each carrying the chosen script and video in its address, so a link
opened in a new tab shows the same script and video; after the pickers chose other ids, the links carry those."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.models import Video
from core.runtime import Runtime
from tests.studio.conftest import ingest

TITLES = ["Library", "Storyboard", "Prompts", "Images", "Clips", "Jobs", "Review", "Exports", "Settings"]


def _links(at: AppTest) -> dict[str, str]:
    """{title: query string} of the sidebar's page links."""
    return {el.proto.label: el.proto.query_string for el in at.sidebar.get("page_link")}


def _videos(rt: Runtime, file_id: int) -> list[int]:
    with rt.sessions() as s:
        return list(s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_link_carries_the_chosen_script_and_video(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt)
    second = _videos(studio_rt, file_id)[1]
    at = open_app("clips", script=file_id, video=second)
    links = _links(at)
    assert list(links) == TITLES  # drawn once: the pickers kept the address bar's ids
    assert set(links.values()) == {f"script={file_id}&video={second}"}
    assert [c.value for c in at.sidebar.caption][:4] == ["Write", "Render", "Deliver", "Studio"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_links_follow_the_pickers_when_they_choose_other_ids(open_app: Callable[..., AppTest],
                                                             studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt)
    first, second = _videos(studio_rt, file_id)
    at = open_app("storyboard", script=file_id, video=999_999)  # a video that is gone: the picker takes the first
    links = _links(at)
    assert list(links) == TITLES  # redrawn in the same place, never a second set with the stale id
    assert set(links.values()) == {f"script={file_id}&video={first}"}
    at.sidebar.selectbox[1].set_value(second).run()
    assert set(_links(at).values()) == {f"script={file_id}&video={second}"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_a_script_the_links_carry_no_ids(open_app: Callable[..., AppTest]) -> None:
    at = open_app("library")
    assert _links(at) == dict.fromkeys(TITLES, "")
