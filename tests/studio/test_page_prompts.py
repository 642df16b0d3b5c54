"""Prompts page: refine all with a summary, provenance and staleness, hand edits as versions, compare, select."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.grid import EditSceneText, apply_grid_edits, grid_rows
from core.library import current_storyboard
from core.models import Frame, PromptVersion, StyleBible, Video
from core.runtime import Runtime
from studio.widgets import escape_markdown as md
from tests.studio.conftest import ingest, texts


def _open(open_app: Callable[..., AppTest], rt: Runtime) -> tuple[AppTest, int, int]:
    file_id = ingest(rt, shots=2, frames=2)
    with rt.sessions() as s:
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()
    return open_app("prompts", script=file_id, video=video_id), file_id, video_id


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_refine_all_then_edit_compare_and_select(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    at, _, _ = _open(open_app, studio_rt)
    assert "No prompt yet" in texts(at)
    at = _click(at, "Refine all")
    assert not at.exception
    assert any(md("this video: 4 refined, 0 reused") in s.value for s in at.success)
    with studio_rt.sessions() as s:
        frames = s.scalars(select(Frame).where(Frame.selected_prompt_id.is_not(None))).all()
        assert len(frames) == 4
    page = texts(at)
    assert "offline" in page and "up to date" in page
    # a hand edit is a new selected version; the refined one is kept
    next(t for t in at.text_area if t.label == "Prompt (English)").set_value("A calm teacher beside a large colour wheel, soft daylight")
    at = _click(at, "Save as a new version")
    assert not at.error, [e.value for e in at.error]
    frame_id = at.session_state["prompt_frame"]
    with studio_rt.sessions() as s:
        versions = s.scalars(select(PromptVersion).where(PromptVersion.frame_id == frame_id)
                             .order_by(PromptVersion.number)).all()
        assert [v.origin for v in versions] == ["refined", "manual"]
        assert s.get(Frame, frame_id).selected_prompt_id == versions[1].id
    # compare shows both texts and the word diff, built from escaped tokens
    diff = [h.value for h in at.html if "word-diff" in str(h.value)]
    assert diff and "<ins>" in diff[0] and "colour wheel" in diff[0]
    # choose the older version again
    at = _click(at, "Use this version")
    with studio_rt.sessions() as s:
        assert s.get(Frame, frame_id).selected_prompt_id == versions[0].id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_stale_reason_shown_after_scene_edit_and_diff_is_escaped(
    open_app: Callable[..., AppTest], studio_rt: Runtime
) -> None:
    at, _, video_id = _open(open_app, studio_rt)
    at = _click(at, "Refine all")
    with studio_rt.sessions() as s:
        board_id = current_storyboard(s, video_id).id
        first = grid_rows(s, board_id)[0]
    with session_scope(studio_rt.sessions) as s:
        apply_grid_edits(s, board_id, [EditSceneText(first.frame_id, "نص جديد تماما", first.lock_version)])
    at.run()
    assert "Stale: scene text changed" in texts(at) or "Stale:" in texts(at)
    next(t for t in at.text_area if t.label == "Prompt (English)").set_value("<script>alert(1)</script> **bold**")
    at = _click(at, "Save as a new version")
    diff = next(h.value for h in at.html if "word-diff" in str(h.value))
    assert "<script>" not in diff and "&lt;script&gt;" in diff


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_style_bible_form_saves(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    at, file_id, _ = _open(open_app, studio_rt)
    form_area = next(t for t in at.text_area if t.label == "Palette")
    form_area.set_value("deep blues and sand")
    at = _click(at, "Save style bible")
    assert not at.error, [e.value for e in at.error]
    with studio_rt.sessions() as s:
        assert s.scalar(select(StyleBible.palette).where(StyleBible.source_file_id == file_id)) == \
            "deep blues and sand"
