"""Images page: a discarded take is not lost; the take picker lists it under "Discarded takes" and restores it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.jobs import Worker, request_image
from core.db import session_scope
from core.models import Asset, Frame, Video
from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
from core.runtime import Runtime
from tests.studio.conftest import ingest, texts


def _click(at: AppTest, label: str) -> AppTest:
    """Click the button with this label, or the icon button whose tooltip starts with it."""
    named = [b for b in at.button if b.label == label] or [b for b in at.button if (b.help or "").startswith(label)]
    named[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_discard_then_restore_a_take_from_the_images_page(open_app: Callable[..., AppTest],
                                                          studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=1, frames=1)
    with session_scope(studio_rt.sessions) as s:
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id)
                             .order_by(Video.position)).first()
        (frame_id,) = frames_in_scope(s, video_id=video_id)
    refine_frames(studio_rt.sessions, [frame_id], OfflineRefiner(), concurrency=1)
    with session_scope(studio_rt.sessions) as s:
        request_image(s, frame_id, settings=studio_rt.settings, provider="offline")
    Worker(studio_rt).run(drain=True)

    at = open_app("images", script=file_id, video=video_id)
    assert "1 of 1 frames have an image" in texts(at)
    assert "Discard" not in [b.label for b in at.button]  # takes are drawn only when asked for
    at = _click(at, "Takes (1)")
    at = _click(at, "Discard")
    with studio_rt.sessions() as s:
        take = s.scalars(select(Asset)).one()
        assert take.discarded_at is not None and s.get(Frame, frame_id).selected_image_id is None
    assert "0 of 1 frames have an image" in texts(at)
    at = _click(at, "Takes (0) · 1 discarded")
    assert "Discarded takes" in texts(at)

    at = _click(at, "Restore")
    with studio_rt.sessions() as s:
        assert s.get(Asset, take.id).discarded_at is None
        assert s.get(Frame, frame_id).selected_image_id == take.id
    assert "1 of 1 frames have an image" in texts(at) and "Restore" not in [b.label for b in at.button]
