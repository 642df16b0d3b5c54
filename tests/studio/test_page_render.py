"""Images, Clips and Jobs pages: queue renders with one click, the worker fills them in, the pages show it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.jobs import Worker
from core.models import Asset, Frame, Job, Shot, Video
from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
from core.runtime import Runtime
from studio.widgets import escape_markdown as md
from tests.studio.conftest import ingest, texts


def _seed(rt: Runtime, *, shots: int = 2, frames: int = 2) -> tuple[int, int]:
    file_id = ingest(rt, shots=shots, frames=frames)
    with rt.sessions() as s:
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()
        ids = frames_in_scope(s, video_id=video_id)
    refine_frames(rt.sessions, ids, OfflineRefiner(), concurrency=2)
    return file_id, video_id


def _click(at: AppTest, label: str, index: int = 0) -> AppTest:
    """Click the button with this label, or the icon button whose tooltip starts with it."""
    named = [b for b in at.button if b.label == label] or [b for b in at.button if (b.help or "").startswith(label)]
    named[index].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _drain(rt: Runtime) -> None:
    Worker(rt).run(drain=True)


def test_images_render_all_then_gallery_shows_done(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id, video_id = _seed(studio_rt)
    at = open_app("images", script=file_id, video=video_id)
    assert "0 of 4 frames have an image" in texts(at)
    assert md("4 frames will render, free (offline).") in texts(at)
    at = _click(at, "Render all missing images")
    assert [t.value for t in at.toast] == [md("Queued 4 image(s).")]
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(Job.id)).where(Job.kind == "image", Job.status == "pending")) == 4
    assert texts(at).count("queued]") == 4  # the status chips
    _drain(studio_rt)
    at.run()
    assert "4 of 4 frames have an image" in texts(at)
    assert len(at.image) >= 4  # thumbnails drawn
    assert texts(at).count("done]") == 4
    # re-roll one frame: a second take, the first one kept
    at = _click(at, "Re-roll")
    _drain(studio_rt)
    at.run()
    with studio_rt.sessions() as s:
        takes = s.scalars(select(Asset).where(Asset.kind == "image").order_by(Asset.id)).all()
        assert len(takes) == 5
        rerolled = s.get(Frame, takes[-1].frame_id)
        assert rerolled.selected_image_id == takes[-1].id  # a re-roll's take is shown as it arrives
        previous = max(t.id for t in takes[:-1] if t.frame_id == rerolled.id)
    at = _click(at, "Takes (2)")  # the re-rolled frame's takes, drawn when asked for
    at = _click(at, "Use this take")  # the previous take, brought back
    with studio_rt.sessions() as s:
        assert s.get(Frame, rerolled.id).selected_image_id == previous


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_failed_image_shows_reason_and_jobs_page_retries(
    open_app: Callable[..., AppTest], studio_rt: Runtime
) -> None:
    file_id, video_id = _seed(studio_rt, shots=1, frames=1)
    at = open_app("images", script=file_id, video=video_id)
    at = _click(at, "Render shot")
    with session_scope(studio_rt.sessions) as s:  # the provider refused it
        job = s.scalars(select(Job)).one()
        job.status, job.error, job.error_category = "failed", "Blocked by moderation: edit the prompt", "nsfw"
        job_id = job.id
    at.run()
    assert "blocked by moderation]" in texts(at) and md("Blocked by moderation: edit the prompt") in texts(at)
    jobs = open_app("jobs")
    assert "Blocked by moderation: edit the prompt" in str(jobs.dataframe[0].value["Error"].tolist())
    jobs = _click(jobs, "Retry job")
    with studio_rt.sessions() as s:
        assert s.get(Job, job_id).status == "pending"
    jobs = _click(jobs, "Cancel job")
    with studio_rt.sessions() as s:
        assert s.get(Job, job_id).status == "canceled"


def test_clips_render_all_confirms_estimate_then_plays(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id, video_id = _seed(studio_rt, shots=2, frames=2)
    at = open_app("clips", script=file_id, video=video_id)
    assert "0 of 2 shots have a clip" in texts(at)
    assert "Approve and render clip" in texts(at)  # the gate offers one click instead of a dead button
    # Nothing can render yet: the button says so before it is clicked, instead of opening a dead end
    render_all = next(b for b in at.button if b.label == "Render all shots")
    assert render_all.disabled and "Shot 1: frame(s) 1, 2 are not approved yet" in (render_all.help or "")
    assert md("0 shots will render; 2 shots cannot yet.") in texts(at)  # one summary, no wall of red
    assert "Nothing was queued" not in texts(at) and "budget" not in texts(at)  # offline renders are free
    assert not at.error
    # approve both shots on the Storyboard page, then come back
    board = open_app("storyboard", script=file_id, video=video_id)
    board = _click(board, "Approve shot")
    board = _click(board, "Approve shot")
    assert "4/4 frames and 2/2 shots approved" in texts(board)
    at.run()
    assert not at.error, [e.value for e in at.error]
    at = _click(at, "Render all shots")
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(Job.id))) == 0  # nothing queued before the confirm
    assert md("2 shots will render (4 image(s) first), free (offline).") in texts(at)
    at = _click(at, "Confirm and render")
    assert [t.value for t in at.toast] == [md("Queued 2 clip(s) and the 4 image(s) they start from.")]
    with studio_rt.sessions() as s:
        kinds = sorted(k for (k,) in s.execute(select(Job.kind)))
    assert kinds.count("clip") == 2 and kinds.count("image") >= 2  # images queued first
    _drain(studio_rt)
    at.run()
    assert "2 of 2 shots have a clip" in texts(at)
    assert len(at.get("video")) == 2
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(Shot.id)).where(Shot.selected_clip_id.is_not(None))) == 2


def test_clips_page_approves_and_renders_a_shot_in_one_click(open_app: Callable[..., AppTest],
                                                             studio_rt: Runtime) -> None:
    file_id, video_id = _seed(studio_rt, shots=2, frames=2)
    at = open_app("clips", script=file_id, video=video_id)
    assert "2 image(s), 1 clip(s): free (offline)" in texts(at)  # the price beside the button
    at = _click(at, "Approve and render clip")
    with studio_rt.sessions() as s:
        approved = s.scalars(select(Shot).where(Shot.review_status == "approved")).all()
        assert [sh.position for sh in approved] == [1]  # that shot only
        kinds = sorted(k for (k,) in s.execute(select(Job.kind)))
    assert kinds == ["clip", "image", "image"]
    assert any(md("queued 2 image(s) first, then the clip") in t.value for t in at.toast)
    _drain(studio_rt)
    at.run()
    assert "1 of 2 shots have a clip" in texts(at)


def test_jobs_page_names_the_video_and_filters_by_it(open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id, video_id = _seed(studio_rt, shots=1, frames=2)
    with studio_rt.sessions() as s:
        second = s.scalars(select(Video.id).where(Video.source_file_id == file_id, Video.id != video_id)).first()
        frames = frames_in_scope(s, video_id=second)
    refine_frames(studio_rt.sessions, frames, OfflineRefiner(), concurrency=1)
    with session_scope(studio_rt.sessions) as s:
        from core.jobs import request_video_images

        request_video_images(s, video_id, settings=studio_rt.settings)
        request_video_images(s, second, settings=studio_rt.settings)
    at = open_app("jobs", script=file_id, video=video_id)
    table = at.dataframe[0].value
    assert set(table["Video"]) == {"1. مقدمة في الألوان", "2. الخطوط"}
    # Queued jobs have no start, end, duration or cost yet: missing values, shown as "—" (never "None" / "nan")
    assert table[["Started", "Finished", "Seconds", "Cost $"]].isna().all().all()
    assert at.dataframe[0].proto.placeholder == "—"
    assert not {str(v) for v in table.to_numpy().ravel() if isinstance(v, str)} & {"None", "nan", "NaT"}
    assert "2 job(s) ahead in line" not in texts(at)  # the Jobs page shows the whole queue
    at.selectbox(key="job-video-filter").set_value(second).run()
    table = at.dataframe[0].value
    assert set(table["Video"]) == {"2. الخطوط"} and len(table) == len(frames)
    images = open_app("images", script=file_id, video=second)
    assert md("queued, 2 job(s) ahead in line") in texts(images)  # the first video's two jobs are ahead


def test_clips_page_approves_and_renders_every_shot_in_one_click(open_app: Callable[..., AppTest],
                                                                 studio_rt: Runtime) -> None:
    file_id, video_id = _seed(studio_rt, shots=3, frames=2)
    at = open_app("clips", script=file_id, video=video_id)
    button = next(b for b in at.button if b.label == "Approve and render 3 shots")
    assert "6 image(s), 3 clip(s): free (offline)" in (button.help or "")
    at = _click(at, "Approve and render 3 shots")
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(Shot.id)).where(Shot.review_status == "approved")) == 3  # this video's
        kinds = sorted(k for (k,) in s.execute(select(Job.kind)))
    assert kinds == ["clip"] * 3 + ["image"] * 6
    _drain(studio_rt)
    at.run()
    assert "3 of 3 shots have a clip" in texts(at)
