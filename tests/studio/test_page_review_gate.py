"""The Review page says whether a shot's clip may be rendered by the same rule the Clips page and the render
queue apply: ALLOW_UNAPPROVED_CLIPS relaxes it on every page, not only on Clips."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.models import Shot
from core.runtime import Runtime
from tests.core.review_factory import make_script
from tests.studio.conftest import texts

DIRECTION = "[Visual: zoom on the whiteboard]"


@pytest.mark.parametrize("relaxed", [False, True])
def test_review_page_honours_allow_unapproved_clips_like_the_clips_page(
        studio_rt: Runtime, open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch, relaxed: bool) -> None:
    monkeypatch.setenv("ALLOW_UNAPPROVED_CLIPS", "true" if relaxed else "false")
    with session_scope(studio_rt.sessions) as s:
        ids = make_script(s, studio_rt.data_dir, shots=1, frames=2, clip_shots=0)
        s.get(Shot, ids.shot_ids[0]).directions = [DIRECTION]  # type: ignore[union-attr]
    review = texts(open_app("review", script=ids.file_id, video=ids.video_ids[0]))
    clips = texts(open_app("clips", script=ids.file_id, video=ids.video_ids[0]))
    blocked = "frame(s) 1, 2 are not approved yet"
    if relaxed:
        assert "Clip: may be rendered (clips from unapproved frames are allowed)" in review
        assert blocked not in review and blocked not in clips
    else:
        assert f"Clip: Shot 1: {blocked}" in review and blocked in clips
    assert "zoom on the whiteboard" in review  # the shot's direction, beside (not in) its narration
