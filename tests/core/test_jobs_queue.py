"""Asking for renders: dedupe, reuse, gates, one-click clips, cancel / retry, takes. Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import ConflictError, GateError, ValidationError
from core.jobs import (
    quote_video_clips,
    Worker,
    cancel_job,
    discard_take,
    list_jobs,
    list_takes,
    request_clip,
    request_image,
    request_video_clips,
    request_video_images,
    retry_job,
    select_take,
)
from core.models import Activity, Asset, Frame, Job, Shot
from core.runtime import Runtime
from tests.core.jobs_factory import add_prompt, make_board
from pathlib import Path

from pydantic import SecretStr
from core.settings import Settings
from tests.conftest import make_test_settings

@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Clips from frames not yet approved: this module tests rendering; the approval gate has its own tests."""
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)


def _drain(rt: Runtime) -> None:
    Worker(rt, concurrency=2, idle_s=0.05).run(drain=True)


def _short_clips(rt: Runtime) -> Runtime:
    """One-second offline clips: the clip renderer itself is tested in test_render_offline.py."""
    return Runtime(settings=rt.settings.model_copy(update={"clip_duration_s": 1}), engine=rt.engine,
                   sessions=rt.sessions)


def test_a_frame_without_a_prompt_cannot_render(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1, prompts=False)
        with pytest.raises(ValidationError, match="Refine a prompt first"):
            request_image(s, board.frame_ids[0], settings=runtime.settings, provider="offline")


def test_same_render_in_flight_returns_the_same_job_even_when_forced(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        first = request_image(s, board.frame_ids[0], settings=runtime.settings, provider="offline")
        again = request_image(s, board.frame_ids[0], settings=runtime.settings, provider="offline")
        forced = request_image(s, board.frame_ids[0], settings=runtime.settings, provider="offline", force=True)
        assert again.id == first.id == forced.id
        assert first.status == "pending" and first.idempotency_key
        assert len(list_jobs(s)) == 1


def test_finished_render_is_reused_unless_rerolled(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        frame_id = board.frame_ids[0]
        first_id = request_image(s, frame_id, settings=runtime.settings, provider="offline").id
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        assert request_image(s, frame_id, settings=runtime.settings, provider="offline").id == first_id
        reroll = request_image(s, frame_id, settings=runtime.settings, provider="offline", force=True)
        assert reroll.id != first_id and reroll.forced
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        frame = s.get(Frame, frame_id)
        takes = list_takes(s, frame_id=frame_id)
        assert len(takes) == 2
        first_take = next(t for t in takes if t.job_id == first_id)
        reroll_take = next(t for t in takes if t.job_id == reroll.id)
        # The re-roll's take is what the board shows now; the first one stays in Takes, and differs from it.
        assert frame.selected_image_id == reroll_take.id
        assert first_take.discarded_at is None and first_take.sha256 != reroll_take.sha256
        # A new prompt version is a different render: not reused.
        add_prompt(s, frame, "A completely different picture of a library")
        fresh = request_image(s, frame_id, settings=runtime.settings, provider="offline")
        assert fresh.status == "pending"


def test_approved_and_locked_frames_are_not_rerendered_unless_forced(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        request_video_images(s, board.video_id, settings=runtime.settings, provider="offline")
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        a, b = (s.get(Frame, i) for i in board.frame_ids)
        a.review_status, b.review_status = "approved", "locked"
        add_prompt(s, a, "new prompt for a")
        add_prompt(s, b, "new prompt for b")
        with pytest.raises(GateError, match="approved"):
            request_image(s, a.id, settings=runtime.settings, provider="offline")
        batch = request_video_images(s, board.video_id, settings=runtime.settings, provider="offline")
        assert batch.jobs == [] and set(batch.skipped) == {a.id, b.id}
        assert "locked" in batch.skipped[b.id]
        forced = request_image(s, a.id, settings=runtime.settings, provider="offline", force=True)
        assert forced.status == "pending"  # an approved frame can be re-rolled on purpose
        with pytest.raises(GateError, match="locked"):  # a locked one never, not even forced
            request_image(s, b.id, settings=runtime.settings, provider="offline", force=True)
        # A locked frame's selection cannot change, even to a new take.
        take = s.scalar(select(Asset).where(Asset.frame_id == b.id))
        with pytest.raises(GateError, match="locked"):
            discard_take(s, take.id, actor="ana")


def test_one_click_clip_queues_missing_images_first(runtime: Runtime) -> None:
    runtime = _short_clips(runtime)
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=3)
        clip = request_clip(s, board.shot_ids[0], settings=runtime.settings, provider="offline", actor="ana")
        deps = [s.get(Job, d) for d in clip.depends_on]
        # Start = first frame, end = last frame (the offline renderer crossfades); the middle frame is not needed.
        assert sorted(d.frame_id for d in deps) == [board.frame_ids[0], board.frame_ids[2]]
        assert all(d.kind == "image" and d.status == "pending" for d in deps)
        assert "push-in" in clip.prompt_text and "Opens on:" in clip.prompt_text
        clip_id = clip.id
        # Clicking again while it waits returns the same clip job.
        assert request_clip(s, board.shot_ids[0], settings=runtime.settings, provider="offline").id == clip_id
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        clip = s.get(Job, clip_id)
        assert clip.status == "succeeded", clip.error
        shot = s.get(Shot, board.shot_ids[0])
        take = s.get(Asset, shot.selected_clip_id)
        assert take.kind == "clip" and take.content_type == "video/mp4" and take.duration_s == pytest.approx(1, abs=0.1)
        first, last = (s.get(Frame, board.frame_ids[i]) for i in (0, 2))
        assert clip.input_asset_ids == [first.selected_image_id, last.selected_image_id]
        # Asking again now reuses the finished clip instead of paying again.
        assert request_clip(s, board.shot_ids[0], settings=runtime.settings, provider="offline").id == clip_id
        actions = [a.action for a in s.scalars(select(Activity))]
        assert actions.count("render.requested") == 3 and actions.count("render.succeeded") == 3


def test_render_all_clips_for_a_video(runtime: Runtime) -> None:
    runtime = _short_clips(runtime)
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=2)
        estimate = quote_video_clips(s, board.video_id, settings=runtime.settings, provider="offline")
        assert (estimate.images, estimate.clips, estimate.total_usd) == (4, 2, 0.0)
        assert s.scalar(select(Job.id)) is None  # the estimate queued nothing
        batch = request_video_clips(s, board.video_id, settings=runtime.settings, provider="offline")
        assert batch.created == 2 and len(batch.jobs) == 2
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        assert all(s.get(Shot, i).selected_clip_id for i in board.shot_ids)
        assert {j.status for j in list_jobs(s)} == {"succeeded"}
        assert len(list_jobs(s, "succeeded", kind="image")) == 4


def test_higgs_estimate_uses_rate_card_and_needs_a_key(runtime: Runtime) -> None:
    keyed = runtime.settings.model_copy(update={"hf_key": SecretStr("id:secret")})
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=2)
        # Without a key the request is refused, and so is its estimate: the same request, the same answer.
        with pytest.raises(ValidationError, match="HF_KEY"):
            request_video_images(s, board.video_id, settings=runtime.settings, provider="higgs")
        with pytest.raises(ValidationError, match="HF_KEY"):
            quote_video_clips(s, board.video_id, settings=runtime.settings, provider="higgs")
        est = quote_video_clips(s, board.video_id, settings=keyed, provider="higgs")
        assert est.images == 4 and est.clips == 2 and est.total_usd > 0 and "$" in est.summary()
        assert est.source == "rate card"


def test_cancel_pending_and_retry_keeps_history(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        job = request_image(s, board.frame_ids[0], settings=runtime.settings, provider="offline")
        key = job.idempotency_key
        cancel_job(s, job.id, actor="ana")
        assert job.status == "canceled" and job.finished_at is not None
        with pytest.raises(ConflictError):
            cancel_job(s, job.id, actor="ana")
        retry_job(s, job.id, actor="ana")
        # Never submitted: the same key is kept, so a submit that did arrive is not paid twice.
        assert job.status == "pending" and job.idempotency_key == key
        assert job.params["_history"][0]["category"] == "canceled"
        job_id = job.id
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        assert s.get(Job, job_id).status == "succeeded"
        with pytest.raises(ConflictError, match="only failed or canceled"):
            retry_job(s, job_id, actor="ana")


def test_retrying_a_failed_clip_retries_the_image_it_waits_for(runtime: Runtime) -> None:
    runtime = _short_clips(runtime)
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        clip = request_clip(s, board.shot_ids[0], settings=runtime.settings, provider="offline")
        image = s.get(Job, clip.depends_on[0])
        image.status, image.error, image.error_category = "failed", "Blocked by moderation", "nsfw"
        image.remote_request_id = "offline-gone"
        old_key = image.idempotency_key
        clip.status, clip.error, clip.error_category = "failed", "its image failed", "dependency"
        # Retrying "all failed" in any order works: the image is already queued again by its clip.
        for job in (clip, image):
            retry_job(s, job.id, actor="ana")
        assert clip.status == image.status == "pending"
        # The provider finished the old request (blocked): the image gets a fresh key and request.
        assert image.idempotency_key != old_key and image.remote_request_id is None
        assert image.params["_history"][0]["error"] == "Blocked by moderation"
        clip_id = clip.id
    _drain(runtime)
    with runtime.sessions() as s:
        assert s.get(Job, clip_id).status == "succeeded"


def test_select_and_discard_takes(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        frame_id = board.frame_ids[0]
        request_image(s, frame_id, settings=runtime.settings, provider="offline")
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        frame = s.get(Frame, frame_id)
        add_prompt(s, frame, "A second idea: a close-up of chalk on the board", shot_size="close-up")
        request_image(s, frame_id, settings=runtime.settings, provider="offline")
    _drain(runtime)
    with session_scope(runtime.sessions) as s:
        frame = s.get(Frame, frame_id)
        newest, oldest = list_takes(s, frame_id=frame_id)
        assert frame.selected_image_id == newest.id  # the new prompt's take is shown as it arrives
        select_take(s, oldest.id, actor="ana")  # the previous one is one click away
        assert frame.selected_image_id == oldest.id
        discard_take(s, oldest.id, actor="ana")
        assert frame.selected_image_id == newest.id
        assert [t.id for t in list_takes(s, frame_id=frame_id)] == [newest.id]
        assert len(list_takes(s, frame_id=frame_id, include_discarded=True)) == 2


def test_clips_need_approved_frames_unless_the_setting_relaxes_it(runtime: Runtime) -> None:
    strict = Runtime(settings=runtime.settings.model_copy(update={"allow_unapproved_clips": False}),
                     engine=runtime.engine, sessions=runtime.sessions)
    with session_scope(strict.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        with pytest.raises(GateError, match="not approved"):
            request_clip(s, board.shot_ids[0], settings=strict.settings, provider="offline")
        assert s.scalar(select(Job.id)) is None  # nothing queued, not even the missing images
        for fid in board.frame_ids:
            s.get(Frame, fid).review_status = "approved"
        clip = request_clip(s, board.shot_ids[0], settings=strict.settings, provider="offline")
        assert clip.kind == "clip" and clip.status == "pending"


def test_a_batch_over_the_budget_queues_nothing(runtime: Runtime) -> None:
    from core.models import SourceFile, Video

    paid = Runtime(settings=runtime.settings.model_copy(update={"renderer": "higgs", "hf_key": SecretStr("id:secret")}),
                   engine=runtime.engine, sessions=runtime.sessions)
    with session_scope(paid.sessions) as s:
        board = make_board(s, shots=2, frames=3)
        video = s.get(Video, board.video_id)
        s.get(SourceFile, video.source_file_id).budget_usd = 0.05  # less than six images cost
    with pytest.raises(GateError, match="budget") as err:
        with session_scope(paid.sessions) as s:
            request_video_images(s, board.video_id, settings=paid.settings)
    assert err.value.category == "budget"
    with session_scope(paid.sessions) as s:
        assert s.scalar(select(Job.id)) is None  # all or nothing: the transaction was rolled back
