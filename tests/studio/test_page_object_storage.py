"""The studio on object storage: images rendered by a worker on another machine (another data dir) are drawn
from the shared bucket, through this studio's own cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.jobs import Worker
from core.models import Video
from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
from core.runtime import Runtime, open_runtime
from tests.conftest import make_test_settings
from tests.fakes.s3_server import S3Server, running_s3
from tests.studio.conftest import ingest, texts


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
def bucket_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = s3.env(s3.new_bucket())
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # what the app under test reads when it opens its runtime
    return env


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_images_page_draws_takes_from_the_bucket(bucket_env: dict[str, str], open_app: Callable[..., AppTest],
                                                 studio_rt: Runtime, s3: S3Server, tmp_path: Path) -> None:
    overrides = {k.lower(): v for k, v in bucket_env.items()}
    # A worker machine: its own data dir, the same database and bucket; it ingests, refines and renders.
    worker_rt = open_runtime(make_test_settings(tmp_path / "worker", studio_rt.settings.db_url, refiner="offline",
                                                renderer="offline", **overrides))
    try:
        file_id = ingest(worker_rt, shots=2, frames=2)
        with worker_rt.sessions() as s:
            video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id)
                                 .order_by(Video.position)).first()
            ids = frames_in_scope(s, video_id=video_id)
        refine_frames(worker_rt.sessions, ids, OfflineRefiner(), concurrency=2)
        at = open_app("images", script=file_id, video=video_id)
        assert "0 of 4 frames have an image" in texts(at)
        [b for b in at.button if b.label == "Render all missing images"][0].click()
        at.run()
        assert Worker(worker_rt).run(drain=True) == 4
    finally:
        worker_rt.engine.dispose()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "4 of 4 frames have an image" in texts(at)
    assert len(at.image) >= 4  # the thumbnails, drawn from the studio's cache of the bucket
    studio_dir = studio_rt.settings.data_dir
    assert not (studio_dir / "assets").exists() and not (tmp_path / "worker" / "assets").exists()
    assert len(list((studio_dir / "cache" / "assets").rglob("*.png"))) == 4
