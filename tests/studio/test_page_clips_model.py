"""The Clips page says what the configured video model takes before anything is paid, from the model's published
input schema (read from a local Higgs server), or from the built-in table when the schema cannot be had."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.models import Job, Video
from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
from core.runtime import Runtime
from tests.fakes.higgs_server import _URL, FakeHiggsServer
from tests.studio.conftest import ingest, texts

OMNI = "kling-video/omni/first-last-frame"


@pytest.fixture
def server() -> Iterator[FakeHiggsServer]:
    with FakeHiggsServer(latency_s=0.1) as srv:
        yield srv


def _higgs(monkeypatch: pytest.MonkeyPatch, base_url: str, model: str) -> None:
    monkeypatch.setenv("RENDERER", "higgs")
    monkeypatch.setenv("HF_KEY", "test-key-id:test-key-secret")
    monkeypatch.setenv("HIGGS_BASE_URL", base_url)
    monkeypatch.setenv("HIGGS_VIDEO_MODEL", model)


def _seed(rt: Runtime) -> tuple[int, int]:
    file_id = ingest(rt, shots=1, frames=3)
    with rt.sessions() as s:
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()
        ids = frames_in_scope(s, video_id=video_id)
    refine_frames(rt.sessions, ids, OfflineRefiner(), concurrency=2)
    assert video_id is not None
    return file_id, video_id


def test_a_model_whose_schema_has_no_end_field_is_named_start_only_before_paying(
        open_app: Callable[..., AppTest], studio_rt: Runtime, server: FakeHiggsServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server.publish(OMNI, {"type": "object", "required": ["first_frame_url", "prompt"],
                          "properties": {"prompt": {"type": "string"}, "first_frame_url": _URL,
                                         "duration": {"type": "integer", "enum": [5, 10]}}})
    _higgs(monkeypatch, server.base_url, OMNI)
    file_id, video_id = _seed(studio_rt)
    at = open_app("clips", script=file_id, video=video_id)
    warning = " ".join(w.value for w in at.warning)
    assert f"`{OMNI}` takes only a start image (from its published input schema)" in warning
    assert "the middle and end frames are not rendered for clips" in warning
    assert "kling-video/v2.5-turbo/pro/image-to-video" in warning  # an offered model that takes a last frame
    assert "Render the 2 middle and end frame(s) anyway" in [b.label for b in at.button]
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(Job.id))) == 0
    assert server.submits == 0
    at.run()
    assert server.state.hits["models"] == 1  # the page's second run asks no one
    next(b for b in at.button if b.label == "Approve and render clip").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    with studio_rt.sessions() as s:
        kinds = sorted(k for (k,) in s.execute(select(Job.kind)))
    assert kinds == ["clip", "image"]  # one click renders the start image only, not the frames it cannot use


def test_an_unseen_model_with_both_images_is_described_from_its_schema(
        open_app: Callable[..., AppTest], studio_rt: Runtime, server: FakeHiggsServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    slug = "acme/motion-gen/v3"
    server.publish(slug, {"type": "object", "required": ["prompt", "start_image"],
                          "properties": {"prompt": {"type": "string"}, "start_image": _URL, "end_image": _URL,
                                         "duration": {"type": "integer", "enum": [4, 8]}}})
    _higgs(monkeypatch, server.base_url, slug)
    file_id, video_id = _seed(studio_rt)
    at = open_app("clips", script=file_id, video=video_id)
    assert not at.warning, [w.value for w in at.warning]
    assert (f"`{slug}` takes a start and an end image (`start_image`, `end_image`) and 4 or 8 s (from its "
            "published input schema)") in texts(at)


def test_without_the_schema_the_note_says_the_table_answers(
        open_app: Callable[..., AppTest], studio_rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _higgs(monkeypatch, "http://127.0.0.1:9", "kling-video/v2.1/pro/image-to-video")  # nothing listens there
    file_id, video_id = _seed(studio_rt)
    at = open_app("clips", script=file_id, video=video_id)
    assert "could not be read" in texts(at) and "built-in model table" in texts(at)
    assert any("takes only a start image (by the built-in model table)" in w.value for w in at.warning)
