"""Where a page's renders stand in the whole queue: place in line, at the provider, about when they finish."""

from __future__ import annotations

from datetime import timedelta

from core.db import session_scope
from core.jobs import request_image
from core.models import Job, utcnow
from core.queue_position import format_duration, queue_status, throughput
from core.runtime import Runtime
from tests.core.jobs_factory import make_board


def test_jobs_of_other_videos_ahead_are_counted_and_the_provider_state_shown(runtime: Runtime) -> None:
    cfg = runtime.settings
    with session_scope(runtime.sessions) as s:
        other = make_board(s, shots=2, frames=3)  # 6 frames of another video, queued first
        mine = make_board(s, shots=1, frames=2)
        others = [request_image(s, f, settings=cfg, provider="offline").id for f in other.frame_ids]
        own = [request_image(s, f, settings=cfg, provider="offline").id for f in mine.frame_ids]
        first = s.get(Job, others[0])
        assert first is not None
        first.status, first.submitted_at = "submitted", utcnow()  # at the provider: not waiting in line
    with runtime.sessions() as s:
        status = queue_status(s, frame_ids=mine.frame_ids, shot_ids=mine.shot_ids)
        everything = queue_status(s)
    assert (status.queued, status.starting, status.at_provider, status.ahead) == (2, 0, 0, 5)
    assert status.eta_s is None and "5 job(s) ahead in line" in status.summary()
    assert "no time estimate yet" in status.summary()
    assert (everything.queued, everything.at_provider) == (7, 1)
    assert "1 rendering at the provider" in everything.summary()
    assert own and others


def test_the_estimate_follows_the_recent_pace(runtime: Runtime) -> None:
    cfg = runtime.settings
    now = utcnow()
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=3)
        jobs = [request_image(s, f, settings=cfg, provider="offline") for f in board.frame_ids]
        for i, job in enumerate(jobs[:4]):  # four finished over the last 100 s: 0.04 jobs/s
            job.status, job.started_at = "succeeded", now - timedelta(seconds=100 - 25 * i + 5)
            job.finished_at = now - timedelta(seconds=100 - 25 * i)
    with runtime.sessions() as s:
        rate = throughput(s, now=now)
        status = queue_status(s, frame_ids=board.frame_ids[4:], now=now)
    assert rate is not None and abs(rate - 0.04) < 1e-6
    assert status.queued == 2 and status.eta_s is not None and abs(status.eta_s - 50) < 1e-6
    assert status.summary() == "2 queued, next in line · about 50 s to go"


def test_durations_read_as_words() -> None:
    assert format_duration(0.2) == "1 s"
    assert format_duration(42) == "42 s"
    assert format_duration(14 * 60 + 10) == "14 min"
    assert format_duration(80 * 60) == "1 h 20 min"


def test_an_idle_pause_is_not_counted_as_rendering_time(runtime: Runtime) -> None:
    """Six images finished within 3 s, ten minutes ago: the pace is two a second, not six in ten minutes (the
    studio said "about 2 min to go" for a batch that took 3 s)."""
    cfg = runtime.settings
    now = utcnow()
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=3)
        jobs = [request_image(s, f, settings=cfg, provider="offline") for f in board.frame_ids]
        for i, job in enumerate(jobs):
            job.status, job.started_at = "succeeded", now - timedelta(seconds=605)
            job.finished_at = now - timedelta(seconds=603 - 0.5 * i)
    with runtime.sessions() as s:
        rate = throughput(s, now=now)
    assert rate is not None and abs(rate - 2.0) < 1e-6


def test_a_pace_the_caller_keeps_sets_the_estimate(runtime: Runtime) -> None:
    cfg = runtime.settings
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=3)
        for f in board.frame_ids:
            request_image(s, f, settings=cfg, provider="offline")
    asked: list[int] = []

    def pace() -> float:
        asked.append(1)
        return 0.5  # jobs per second

    with runtime.sessions() as s:
        status = queue_status(s, frame_ids=board.frame_ids, pace=pace)
    assert asked == [1] and status.eta_s is not None and abs(status.eta_s - 6) < 1e-6
    assert status.summary() == "3 queued, next in line · about 6 s to go"
