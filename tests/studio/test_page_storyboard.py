"""Storyboard page: the grid beside the narration, Arabic right-to-left, rebuild as a version, safe saves."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.grid import EditSceneText, apply_grid_edits, grid_rows
from core.library import current_storyboard
from core.models import Frame, Storyboard, Video
from core.runtime import Runtime
from studio.frame_card import BEAT_ICON
from tests.studio.conftest import ingest, texts


def _first_video(rt: Runtime, file_id: int) -> int:
    with rt.sessions() as s:
        return s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()


def test_board_shows_shots_frames_and_narration_rtl(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=2)
    video_id = _first_video(studio_rt, file_id)
    at = open_app("storyboard", script=file_id, video=video_id)
    page = texts(at)
    assert "مقدمة في الألوان" in page
    assert "Version 1 · 2 shots · 4 frames" in page
    assert "Shot 1 · frame 1" in page and "Shot 2 · frame 2" in page
    assert "مرحبا بكم في هذه الدورة" in page  # narration and scene text are on the page
    rtl_keys = [c.key for c in at.container if c.key and c.key.startswith("rtl-")]
    assert any(k.startswith("rtl-narration-") for k in rtl_keys)  # the card's own text: tests/e2e reads its layout


def test_only_the_open_tab_is_drawn(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    """The editor's table and the coverage check are not computed behind closed tabs (unsaved edits surviving a
    look at the board is tests/e2e: AppTest cannot edit a data editor)."""
    file_id = ingest(studio_rt, shots=2, frames=2)
    at = open_app("storyboard", script=file_id, video=_first_video(studio_rt, file_id))
    assert "Shot 1 · frame 1" in texts(at)
    assert not at.get("dataframe"), "the editor is drawn behind its closed tab"
    assert "each in exactly one" not in texts(at)

    at.session_state["storyboard-tab"] = "Narration coverage"
    at.run()
    assert "sentences of the narration are in a shot, each in exactly one." in texts(at)
    assert "Shot 1 · frame 1" not in texts(at)

    at.session_state["storyboard-tab"] = "Edit scene text"
    at.run()
    assert len(at.get("dataframe")) == 1
    assert "Shot 1 · frame 1" not in texts(at)


def test_rebuild_makes_new_version_and_old_stays_readable(
    open_app: Callable[..., AppTest], studio_rt: Runtime
) -> None:
    file_id = ingest(studio_rt, shots=2, frames=2)
    video_id = _first_video(studio_rt, file_id)
    at = open_app("storyboard", script=file_id, video=video_id)
    at.number_input(key=f"rebuild-{video_id}-shots").set_value(3)
    at.number_input(key=f"rebuild-{video_id}-frames").set_value(1)
    next(b for b in at.button if b.label == "Build new version").click()
    at.run()
    assert not at.exception
    with studio_rt.sessions() as s:
        boards = s.scalars(select(Storyboard).where(Storyboard.video_id == video_id)
                           .order_by(Storyboard.version)).all()
        assert [(b.version, b.is_current) for b in boards] == [(1, False), (2, True)]
        old_id = boards[0].id
    assert "Version 2 · 3 shots · 3 frames" in texts(at)
    next(s for s in at.selectbox if s.label == "Storyboard version").set_value(old_id).run()
    assert "shown read-only" in texts(at)
    at.session_state["storyboard-tab"] = "Edit scene text"
    at.run()
    assert "Older versions cannot be edited." in texts(at)
    next(b for b in at.button if b.label == "Make this version current").click()
    at.run()
    with studio_rt.sessions() as s:
        assert s.get(Storyboard, old_id).is_current


def _save_script(rt_args: dict) -> None:  # type: ignore[type-arg]  (source is run as its own script)
    import streamlit as st

    from core.grid import GridRow
    from core.runtime import open_runtime
    from core.settings import load_settings
    from studio.grid_editor import _show_kept_text, save_edits

    if not st.session_state.get("saved_once"):  # save_edits reruns the script; save only on the first run
        st.session_state["saved_once"] = True
        rt = open_runtime(load_settings())
        rows = [GridRow(**r) for r in rt_args["rows"]]
        save_edits(rt, rt_args["storyboard_id"], rows, rt_args["delta"])
    _show_kept_text()


def test_concurrent_edit_is_reported_and_text_kept(studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=2)
    video_id = _first_video(studio_rt, file_id)
    with studio_rt.sessions() as s:
        board_id = current_storyboard(s, video_id).id
        seen = grid_rows(s, board_id)  # what the producer's editor was drawn from
    # someone else saves frame 1 first
    with session_scope(studio_rt.sessions) as s:
        apply_grid_edits(s, board_id, [EditSceneText(seen[0].frame_id, "نص الزميل", seen[0].lock_version)],
                         actor="colleague")
    delta = {"edited_rows": {0: {"scene_text": "نصي الجديد"}}, "added_rows": [], "deleted_rows": []}
    args = {"storyboard_id": board_id, "delta": delta, "rows": [r.__dict__ for r in seen]}
    at = AppTest.from_function(_save_script, args=(args,), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "Shot 1" in at.error[0].value or "Frame" in at.error[0].value
    assert "نصي الجديد" in texts(at) or any("نصي الجديد" in c.value for c in at.code)
    with studio_rt.sessions() as s:
        assert s.get(Frame, seen[0].frame_id).scene_text == "نص الزميل"  # the other writer's text stands


def test_editor_save_applies_delta(studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=2)
    video_id = _first_video(studio_rt, file_id)
    with studio_rt.sessions() as s:
        board_id = current_storyboard(s, video_id).id
        seen = grid_rows(s, board_id)
    delta = {"edited_rows": {1: {"scene_text": "مشهد معدل"}}, "added_rows": [], "deleted_rows": [3]}
    args = {"storyboard_id": board_id, "delta": delta, "rows": [r.__dict__ for r in seen]}
    at = AppTest.from_function(_save_script, args=(args,), default_timeout=30).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with studio_rt.sessions() as s:
        rows = grid_rows(s, board_id)
    assert [r.scene_text for r in rows][1] == "مشهد معدل"
    assert len(rows) == 3


def test_each_frame_card_shows_its_own_beat_right_to_left_beside_what_it_shows(
        open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    """Frames are the shot's keyframes: two frames of one shot carry two different beats of its narration, and
    each card draws its own (Arabic, in a right-to-left block) under its direction."""
    file_id = ingest(studio_rt, shots=1, frames=2)
    video_id = _first_video(studio_rt, file_id)
    with studio_rt.sessions() as s:
        frames = s.scalars(select(Frame).join(Frame.shot).join(Storyboard)
                           .where(Storyboard.video_id == video_id, Storyboard.is_current)
                           .order_by(Frame.position)).all()
        beats = {f.id: f.beat for f in frames}
        shown = {f.id: f.scene_text for f in frames}
    assert len(beats) == 2 and len(set(beats.values())) == 2 and all(beats.values())
    at = open_app("storyboard", script=file_id, video=video_id)
    blocks = {c.key: c for c in at.container if c.key}
    for frame_id, beat in beats.items():
        card = texts_of(blocks[f"frame-card-{frame_id}"]).replace("\\", "")  # markdown escapes
        paragraphs = card.split("\n\n")
        scene_at = next(i for i, p in enumerate(paragraphs) if shown[frame_id].split()[0] in p)
        own = next(p for p in paragraphs if BEAT_ICON in p)  # its beat, in a paragraph of its own
        assert paragraphs.index(own) == scene_at + 1  # under what the frame shows, on the same card
        assert beat.split()[0] in own and beat.rstrip(".").split()[-1] in own
        other = next(b for i, b in beats.items() if i != frame_id)
        assert other.replace(" ", "") not in own.replace(" ", "")


def texts_of(block: object) -> str:
    """The markdown and captions drawn inside one container of the page."""
    return "\n".join(str(el.value) for group in ("markdown", "caption") for el in getattr(block, group))
