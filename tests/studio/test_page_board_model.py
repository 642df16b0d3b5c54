"""Pages drawn from the one read model (`core.board`): the Review page says whether a shot's clip may be rendered
by the same rule the Clips page and the render queue apply (ALLOW_UNAPPROVED_CLIPS relaxes it on every page, not
only on Clips); the Storyboard page shows a shot's directions beside its narration and which prompts went stale."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from sqlalchemy import select

from core.grid import EditSceneText, apply_grid_edits
from core.models import Frame, Shot
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
        assert f"Clip: {blocked}" in review and "Clip: Shot 1:" not in review and blocked in clips
    assert "zoom on the whiteboard" in review  # the shot's direction, beside (not in) its narration


def test_storyboard_page_shows_directions_and_a_prompt_gone_stale(
        studio_rt: Runtime, open_app: Callable[..., AppTest]) -> None:
    from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
    from tests.studio.conftest import ingest

    file_id = ingest(studio_rt, shots=2, frames=2)
    with session_scope(studio_rt.sessions) as s:
        shot = s.scalars(select(Shot).order_by(Shot.position)).first()
        assert shot is not None
        shot.directions = [DIRECTION]
        video_id = shot.storyboard.video_id
        frame_ids = frames_in_scope(s, video_id=video_id)
    refine_frames(studio_rt.sessions, frame_ids, OfflineRefiner(), concurrency=1)
    fresh = texts(open_app("storyboard", script=file_id, video=video_id))
    assert "zoom on the whiteboard" in fresh and "Prompt stale" not in fresh
    with session_scope(studio_rt.sessions) as s:
        frame = s.get(Frame, frame_ids[-1])
        assert frame is not None
        board_id = frame.shot.storyboard_id
        apply_grid_edits(s, board_id, [EditSceneText(frame.id, "A wide view of the classroom", frame.lock_version)],
                         actor="producer")
    page = texts(open_app("storyboard", script=file_id, video=video_id)).replace("\\", "")  # markdown escapes
    assert "Prompt stale: scene text changed" in page
    assert page.count("Prompt stale") == 2  # the edited frame, and the frame before it (its neighbour moved)
