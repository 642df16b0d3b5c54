"""The live status's pace: read once per process for every tab, and again once it is old."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import session_scope
from core.jobs import request_image
from core.models import utcnow
from core.runtime import Runtime
from studio import live
from tests.core.jobs_factory import make_board


def _finish(runtime: Runtime, count: int) -> None:
    now = utcnow()
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=count)
        for i, f in enumerate(board.frame_ids):  # one finish every 10 s: 0.1 jobs/s
            job = request_image(s, f, settings=runtime.settings, provider="offline")
            job.status, job.started_at = "succeeded", now - timedelta(seconds=10 * i + 5)
            job.finished_at = now - timedelta(seconds=10 * i)


def test_tabs_share_one_reading_of_the_pace_until_it_is_old(runtime: Runtime,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    live._paces.clear()
    with runtime.sessions() as s:
        assert live.recent_pace(runtime, s) is None  # nothing rendered yet
    _finish(runtime, 4)
    with runtime.sessions() as s:
        assert live.recent_pace(runtime, s) is None  # another tab, a second later: the same reading
    monkeypatch.setattr(live, "PACE_TTL_S", 0.0)
    with runtime.sessions() as s:
        rate = live.recent_pace(runtime, s)
    assert rate is not None and abs(rate - 0.1) < 1e-6
