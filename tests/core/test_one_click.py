"""One click per shot: "Approve and render clip" approves the frames, queues missing images, then the clip."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.authz import Principal, Role, acting_as
from core.db import session_scope
from core.errors import GateError
from core.jobs import Worker
from core.models import Activity, Frame, Job, Shot
from core.one_click import approve_and_render, estimate_shot, one_click_refusal
from core.runtime import Runtime
from tests.core.jobs_factory import make_board

REVIEWER = Principal("rita@client.test", "Rita", frozenset({Role.REVIEWER}))
PRODUCER = Principal("pat@studio.test", "Pat", frozenset({Role.PRODUCER}))


def test_one_click_approves_the_frames_and_queues_images_before_the_clip(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=3)
    shot_id = board.shot_ids[0]
    with session_scope(runtime.sessions) as s, acting_as(PRODUCER):
        result = approve_and_render(s, shot_id, settings=runtime.settings, actor="pat@studio.test")
    assert result.frames_approved == 3
    assert result.estimate.images == 3 and result.estimate.clips == 1
    with runtime.sessions() as s:
        shot = s.get(Shot, shot_id)
        assert shot is not None and shot.review_status == "approved"
        assert {f.review_status for f in shot.frames} == {"approved"}
        images = list(s.scalars(select(Job).where(Job.kind == "image")))
        clip = s.get(Job, result.clip_job_id)
        assert len(images) == 3 and {j.frame_id for j in images} == set(board.frames[0])
        assert clip is not None and clip.kind == "clip" and clip.status == "pending"
        assert set(clip.depends_on) <= {j.id for j in images} and clip.depends_on  # waits for its images
        assert set(result.image_job_ids) == {j.id for j in images}
        # the other shot was not touched
        other = s.get(Shot, board.shot_ids[1])
        assert other is not None and other.review_status == "draft"
        actors = set(s.scalars(select(Activity.actor).where(Activity.action == "review.status")))
        assert actors == {"pat@studio.test"}


def test_one_click_renders_the_clip_end_to_end_offline(runtime: Runtime) -> None:
    rt = Runtime(settings=runtime.settings.model_copy(update={"clip_duration_s": 1}), engine=runtime.engine,
                 sessions=runtime.sessions)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=2)
    with session_scope(rt.sessions) as s:
        approve_and_render(s, board.shot_ids[0], settings=rt.settings, actor="producer")
    Worker(rt, concurrency=2, idle_s=0.05).run(drain=True)
    with rt.sessions() as s:
        shot = s.get(Shot, board.shot_ids[0])
        assert shot is not None and shot.selected_clip_id is not None
        assert all(f.selected_image_id for f in shot.frames)


def test_a_second_click_queues_nothing_new(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=2)
    with session_scope(runtime.sessions) as s:
        first = approve_and_render(s, board.shot_ids[0], settings=runtime.settings, actor="producer")
    with session_scope(runtime.sessions) as s:
        again = approve_and_render(s, board.shot_ids[0], settings=runtime.settings, actor="producer")
    assert again.clip_job_id == first.clip_job_id and again.frames_approved == 0
    with runtime.sessions() as s:
        assert len(list(s.scalars(select(Job)))) == 3


def test_a_reviewer_is_told_why_and_nothing_changes(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=2)
    with runtime.sessions() as s, acting_as(REVIEWER):
        reason = one_click_refusal(s, board.shot_ids[0])
    assert reason is not None and "may approve but not start renders" in reason
    with pytest.raises(GateError, match="not start renders"), session_scope(runtime.sessions) as s, \
            acting_as(REVIEWER):
        approve_and_render(s, board.shot_ids[0], settings=runtime.settings, actor="rita@client.test")
    with runtime.sessions() as s:
        assert list(s.scalars(select(Job))) == []
        assert {f.review_status for f in s.scalars(select(Frame))} == {"draft"}


def test_frames_without_a_prompt_are_named_before_anything_is_approved(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=2, prompts=False)
    with runtime.sessions() as s:
        reason = one_click_refusal(s, board.shot_ids[0])
    assert reason is not None and "Frame(s) 1, 2" in reason and "Prompts page" in reason
    with pytest.raises(GateError), session_scope(runtime.sessions) as s:
        approve_and_render(s, board.shot_ids[0], settings=runtime.settings, actor="producer")
    with runtime.sessions() as s:
        assert {f.review_status for f in s.scalars(select(Frame))} == {"draft"}


def test_the_estimate_prices_the_missing_images_and_the_clip(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=2)
    with runtime.sessions() as s:
        est = estimate_shot(s, board.shot_ids[0], settings=runtime.settings)
    assert est.images == 2 and est.clips == 1
    assert "free (offline)" in est.summary()
