"""Discarding a take is soft and reversible: `restore_take` brings it back. Both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.activity import recent_activity
from core.db import session_scope
from core.jobs import Worker, discard_take, list_takes, request_image, restore_take
from core.models import Frame
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.core.jobs_factory import add_prompt, make_board


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_test_settings(tmp_path / "data", db_url)


def _render(rt: Runtime, frame_id: int) -> None:
    with session_scope(rt.sessions) as s:
        request_image(s, frame_id, settings=rt.settings, provider="offline", force=True)
    Worker(rt, concurrency=1, idle_s=0.05).run(drain=True)


def test_restoring_the_only_take_gives_the_frame_its_image_back(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]
    _render(runtime, frame_id)
    with session_scope(runtime.sessions) as s:
        (take,) = list_takes(s, frame_id=frame_id)
        discard_take(s, take.id, actor="ana")
        assert s.get(Frame, frame_id).selected_image_id is None
        assert list_takes(s, frame_id=frame_id) == []
    with session_scope(runtime.sessions) as s:
        restored = restore_take(s, take.id, actor="ed")
        assert restored.discarded_at is None
        assert s.get(Frame, frame_id).selected_image_id == take.id
        assert [t.id for t in list_takes(s, frame_id=frame_id)] == [take.id]
        entry = recent_activity(s, limit=1)[0]
        assert (entry.action, entry.actor, entry.detail["asset_id"], entry.detail["selected"]) == \
            ("take.restored", "ed", take.id, True)


def test_restoring_a_re_roll_keeps_the_chosen_take(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]
    _render(runtime, frame_id)
    with session_scope(runtime.sessions) as s:
        add_prompt(s, s.get(Frame, frame_id), "A close-up of chalk on the board", shot_size="close-up")
    _render(runtime, frame_id)
    with session_scope(runtime.sessions) as s:
        newest, first = list_takes(s, frame_id=frame_id)
        assert s.get(Frame, frame_id).selected_image_id == first.id
        discard_take(s, newest.id, actor="ana")
    with session_scope(runtime.sessions) as s:
        restore_take(s, newest.id, actor="ana")
        restore_take(s, newest.id, actor="ana")  # restoring a live take changes nothing and logs nothing
        assert s.get(Frame, frame_id).selected_image_id == first.id
        assert [t.id for t in list_takes(s, frame_id=frame_id)] == [newest.id, first.id]
        assert [a.action for a in recent_activity(s)].count("take.restored") == 1
