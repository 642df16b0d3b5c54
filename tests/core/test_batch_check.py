"""The "render all" pre-check: one summary of what will render, what cannot and why, and the cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.batch_check import check_video_clips, check_video_images
from core.cost import set_budget, set_rate
from core.db import session_scope
from core.models import Frame
from core.review import set_status
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.core.jobs_factory import make_board


def test_clips_say_how_many_will_render_and_why_the_others_cannot(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=3, frames=2)
        for fid in board.frames[0]:
            set_status(s, "frame", fid, "approved", actor="ed")
        set_status(s, "frame", board.frames[1][0], "approved", actor="ed")
    with runtime.sessions() as s:
        check = check_video_clips(s, board.video_id, settings=runtime.settings)
    assert check.ready == ("Shot 1",)
    assert set(check.blocked) == {"Shot 2", "Shot 3"}
    assert check.blocked["Shot 2"].startswith("frame(s) 2 are not approved yet")  # the shot is named once
    assert check.headline() == "1 shot will render (2 image(s) first), free (offline); 2 shots cannot yet."
    assert check.reasons()[0].startswith("Shot 2: frame(s) 2") and "Shot 2: Shot 2" not in " ".join(check.reasons())
    assert check.budget_note is None  # offline renders are free: no word about the budget
    assert check.admitted


def test_nothing_ready_is_not_admitted_and_says_nothing_was_queued_nowhere(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=1)
    with runtime.sessions() as s:
        check = check_video_clips(s, board.video_id, settings=runtime.settings)
    assert not check.admitted and check.ready == ()
    assert "Nothing was queued" not in check.headline() + " ".join(check.reasons())
    assert "budget" not in check.headline() + " ".join(check.reasons())


def test_images_skip_frames_without_a_prompt_and_count_the_ones_done(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=3)
        frame = s.get(Frame, board.frame_ids[2])
        assert frame is not None
        frame.selected_prompt_id = None
    with runtime.sessions() as s:
        check = check_video_images(s, board.video_id, settings=runtime.settings)
    assert check.ready == ("Shot 1 · frame 1", "Shot 1 · frame 2")
    assert check.blocked == {"Shot 1 · frame 3": "no prompt yet (refine it on the Prompts page)"}
    assert check.headline() == "2 frames will render, free (offline); 1 frame cannot yet."


@pytest.fixture
def paid(tmp_path: Path, db_url: str) -> Settings:
    return make_test_settings(tmp_path / "data", db_url, renderer="higgs", hf_key="id:secret",
                              allow_unapproved_clips=True)


def test_a_paid_batch_past_the_budget_is_refused_with_what_is_left(runtime: Runtime, paid: Settings) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=2)
        set_rate(s, paid.higgs_image_model, unit="image", credits=1, usd=0.5, actor="t")
        set_rate(s, paid.higgs_video_model, unit="clip_second", credits=1, usd=0.2, actor="t")
        set_budget(s, board.file_id, 1.0, actor="t")
    with runtime.sessions() as s:
        clips = check_video_clips(s, board.video_id, settings=paid)
        images = check_video_images(s, board.video_id, settings=paid)
    assert not clips.admitted and clips.budget_note is not None
    assert "only $1.00 of the $1.00 budget is left" in clips.budget_note
    assert "≈ $" in clips.headline()
    assert not images.admitted  # 4 × $0.50 > $1.00
    with session_scope(runtime.sessions) as s:
        set_budget(s, board.file_id, 100.0, actor="t")
    with runtime.sessions() as s:
        images = check_video_images(s, board.video_id, settings=paid)
    assert images.admitted and images.budget_note == "$98.00 of the $100.00 budget stays free after it."


def test_images_on_the_way_read_as_rendering_not_up_to_date(runtime: Runtime) -> None:
    """Right after "Render all", the pre-check must not say the queued frames are up to date."""
    from core.jobs import Worker, request_image, request_video_images

    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=3)
        for fid in board.frames[0]:
            request_image(s, fid, settings=runtime.settings)
    Worker(runtime, concurrency=2, idle_s=0.05).run(drain=True)  # shot 1's three images are done
    with session_scope(runtime.sessions) as s:
        request_video_images(s, board.video_id, settings=runtime.settings)  # shot 2's three are queued
    with runtime.sessions() as s:
        check = check_video_images(s, board.video_id, settings=runtime.settings)
    assert (check.rendering, check.reused) == (3, 6)
    assert check.headline() == "0 frames will render; 3 frames are rendering; 3 frames are up to date."
