"""The Storyboard page's AI director: estimate first, then plan (a new version), chips for size and move, the chain
switch and its one-click break, the reason shown when a plan was not applied, and the diff of two versions."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.library import current_storyboard
from core.models import Shot, SourceFile, Storyboard, Video
from core.runtime import Runtime
from tests.studio.conftest import ingest, texts


def _first_video(rt: Runtime, file_id: int) -> int:
    with rt.sessions() as s:
        return s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_plan_a_video_offline_estimate_first_then_a_new_version_with_chips(
        open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=2)
    video_id = _first_video(studio_rt, file_id)
    at = open_app("storyboard", script=file_id, video=video_id)
    at.radio(key="plan-provider").set_value("offline")
    at.run()
    assert "Plan now" not in [b.label for b in at.button]  # nothing can run before the estimate
    _click(at, "Estimate the cost")
    assert "Before anything is sent:** 1 video\\(s\\) to plan offline\\: free" in texts(at)
    _click(at, "Plan now")
    with studio_rt.sessions() as s:
        board = current_storyboard(s, video_id)
        assert (board.version, board.planner) == (2, "offline")
        first = s.scalars(select(Shot).where(Shot.storyboard_id == board.id).order_by(Shot.position)).first()
        move = first.camera_move
    page = texts(at)
    assert "Planned 1, reused 0 unchanged" in page.replace("\\", "") and "Planned by the offline builder" in page
    assert move and move in page  # the camera move is a chip beside the shot

    at.session_state["storyboard-tab"] = "Compare versions"
    at.run()
    assert "Version 1 → 2" in texts(at) or "show the same shots" in texts(at)


def test_chain_shots_and_break_one_shot(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=3, frames=2)
    video_id = _first_video(studio_rt, file_id)
    at = open_app("storyboard", script=file_id, video=video_id)
    at.toggle(key=f"chain-shots-{file_id}").set_value(True)
    at.run()
    with studio_rt.sessions() as s:
        assert s.get(SourceFile, file_id).chain_shots
    assert "starts on shot 1's last frame" in texts(at) and "starts on shot 2's last frame" in texts(at)
    breaks = [b for b in at.button if b.label == "Break chain"]
    assert len(breaks) == 2
    breaks[1].click()
    at.run()
    with studio_rt.sessions() as s:
        board = current_storyboard(s, video_id)
        flags = [sh.chain_break for sh in s.scalars(select(Shot).where(Shot.storyboard_id == board.id)
                                                   .order_by(Shot.position))]
    assert flags == [False, False, True]
    assert "chain broken" in texts(at) and "Chain to previous shot" in [b.label for b in at.button]


def test_the_reason_a_plan_was_not_applied_is_on_the_board(open_app: Callable[..., AppTest],
                                                           studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=2)
    video_id = _first_video(studio_rt, file_id)
    with session_scope(studio_rt.sessions) as s:
        s.scalar(select(Storyboard).where(Storyboard.video_id == video_id, Storyboard.is_current)).note = (
            "Not re-planned by openai (gpt-4o-mini): The AI plan was still invalid after one re-ask: shot 2: "
            "sentence(s) 3 are dropped. This storyboard (version 1) is unchanged.")
    at = open_app("storyboard", script=file_id, video=video_id)
    (note,) = [i.value for i in at.info if "planned by openai" in i.value]
    assert "sentence(s) 3 are dropped" in note and "is unchanged" in note
