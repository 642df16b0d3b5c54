"""Discarding a take is soft and reversible: `restore_take` brings it back. Both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.activity import recent_activity
from core.db import session_scope
from core.jobs import Worker, discard_take, list_takes, request_image, restore_take, select_take
from core.models import Asset, Frame
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
        assert s.get(Frame, frame_id).selected_image_id == newest.id  # the new take is shown as it arrives
        discard_take(s, newest.id, actor="ana")  # and discarding it shows the previous one again
    with session_scope(runtime.sessions) as s:
        restore_take(s, newest.id, actor="ana")
        restore_take(s, newest.id, actor="ana")  # restoring a live take changes nothing and logs nothing
        assert s.get(Frame, frame_id).selected_image_id == first.id
        assert [t.id for t in list_takes(s, frame_id=frame_id)] == [newest.id, first.id]
        assert [a.action for a in recent_activity(s)].count("take.restored") == 1


# ---- a new take is the one shown; offline re-rolls vary; retries never render twice ---------------------------

def test_a_re_roll_is_shown_at_once_and_differs_from_the_take_it_replaces(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]
    _render(runtime, frame_id)
    _render(runtime, frame_id)  # a re-roll of the same prompt (forced)
    with session_scope(runtime.sessions) as s:
        newest, first = list_takes(s, frame_id=frame_id)
        assert s.get(Frame, frame_id).selected_image_id == newest.id
        assert newest.sha256 != first.sha256  # offline, a re-roll draws another card
        logged = [a for a in recent_activity(s) if a.action == "take.selected"]
        assert logged and logged[0].detail["previous"] == first.id and logged[0].detail["asset_id"] == newest.id
        select_take(s, first.id, actor="ana")  # the previous take stays restorable
        assert s.get(Frame, frame_id).selected_image_id == first.id


def test_a_locked_frame_keeps_its_image_and_a_late_take_of_an_old_prompt_waits(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]
    _render(runtime, frame_id)
    with session_scope(runtime.sessions) as s:
        frame = s.get(Frame, frame_id)
        shown = frame.selected_image_id
        # A render of the current prompt is asked for, then the producer moves on to another prompt.
        request_image(s, frame_id, settings=runtime.settings, provider="offline", force=True)
        add_prompt(s, frame, "A different idea: an empty classroom at night")
    Worker(runtime, concurrency=1, idle_s=0.05).run(drain=True)
    with session_scope(runtime.sessions) as s:
        assert s.get(Frame, frame_id).selected_image_id == shown  # the late take only joins the list
        s.get(Frame, frame_id).selected_prompt_id = s.get(Asset, shown).prompt_version_id  # back to that prompt
        assert len(list_takes(s, frame_id=frame_id)) == 2
    with session_scope(runtime.sessions) as s:
        request_image(s, frame_id, settings=runtime.settings, provider="offline", force=True)
        s.flush()
        s.get(Frame, frame_id).review_status = "locked"  # locked while the render runs
    Worker(runtime, concurrency=1, idle_s=0.05).run(drain=True)
    with session_scope(runtime.sessions) as s:
        assert s.get(Frame, frame_id).selected_image_id == shown
        assert len(list_takes(s, frame_id=frame_id)) == 3


def test_offline_cards_vary_by_take_and_repeat_for_the_same_take() -> None:
    from core.render.offline_image import render_card

    one = render_card(prompt="A lighthouse at dusk", label="Shot 1", take="key-1")
    assert render_card(prompt="A lighthouse at dusk", label="Shot 1", take="key-1") == one
    assert render_card(prompt="A lighthouse at dusk", label="Shot 1", take="key-2") != one


def test_a_retried_offline_job_finds_its_card_and_renders_nothing_new(runtime: Runtime) -> None:
    from core.assets import AssetStore
    from core.render.providers import OfflineProvider, RenderSpec

    store = AssetStore.from_settings(runtime.settings)
    provider = OfflineProvider(store)
    spec = RenderSpec(job_id=1, kind="image", model="offline", prompt="A lighthouse at dusk",
                      params={"card": {"label": "Shot 1"}})
    first = provider.submit(spec, "same-key")
    key = provider.poll(first.request_id, None).output_urls[0]
    again = provider.submit(spec, "same-key")  # a retry keeps its idempotency key
    assert again.request_id == first.request_id and provider.poll(again.request_id, None).output_urls[0] == key
    other = provider.submit(spec, "new-key")  # a re-roll is a new job with a new key
    assert provider.poll(other.request_id, None).output_urls[0] != key
