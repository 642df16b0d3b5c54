"""Full render lifecycles over real HTTP against the local Higgs server: images, clips, uploads, faults, bad
downloads, cancel, retired models, and a worker process killed with SIGKILL. Both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.assets import AssetStore
from core.db import session_scope
from core.higgs import PollSchedule
from core.jobs import Worker, cancel_job, request_clip, request_image, request_video_images, retry_job
from core.models import Asset, Frame, Job, Shot
from core.render.higgs_provider import HiggsProvider
from core.render.providers import OfflineProvider, RenderProvider
from core.runtime import Runtime
from tests.core.jobs_factory import make_board, wait_for_job
from tests.fakes.higgs_server import FakeHiggsServer, Scripted
from core.settings import Settings
from tests.conftest import make_test_settings

@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Clips from frames not yet approved: this module tests rendering; the approval gate has its own tests."""
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)

ROOT = Path(__file__).resolve().parents[2]
FAST_POLLS = PollSchedule(initial_s=0.05, factor=1.5, max_s=0.3, jitter=0.1)


@pytest.fixture
def server() -> Iterator[FakeHiggsServer]:
    with FakeHiggsServer(latency_s=0.2, seed=7) as srv:
        yield srv


def _higgs_runtime(rt: Runtime, server: FakeHiggsServer, **overrides: Any) -> Runtime:
    key_id, secret = server.credentials
    # The fake serves outputs over http on 127.0.0.1: downloads from there must be allowed explicitly.
    settings = rt.settings.model_copy(update={"hf_key": SecretStr(f"{key_id}:{secret}"), "renderer": "higgs",
                                              "higgs_base_url": server.base_url, "allow_private_downloads": True,
                                              "allow_http_downloads": True, **overrides})
    return Runtime(settings=settings, engine=rt.engine, sessions=rt.sessions)


def _providers(rt: Runtime, **client: Any) -> dict[str, RenderProvider]:
    store = AssetStore(rt.data_dir)
    client.setdefault("backoff_base_s", 0.01)
    client.setdefault("timeout_s", 2.0)
    higgs = HiggsProvider.from_settings(rt.settings, store, poll=FAST_POLLS, **client)
    return {"offline": OfflineProvider(store, clip_duration_s=1), "higgs": higgs}


def _drain(rt: Runtime, **kw: Any) -> Worker:
    providers = kw.pop("providers", None) or _providers(rt)
    worker = Worker(rt, providers=providers, backoff_s=0.02, idle_s=0.02, **kw)
    worker.run(drain=True)
    return worker


def test_images_then_a_first_last_frame_clip(runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _higgs_runtime(runtime, server, higgs_video_model="kling-video/omni/first-last-frame")
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        clip_id = request_clip(s, board.shot_ids[0], settings=rt.settings).id
    _drain(rt)
    with rt.sessions() as s:
        clip = s.get(Job, clip_id)
        assert clip.status == "succeeded", clip.error
        images = [s.get(Job, d) for d in clip.depends_on]
        assert len(images) == 2 and all(j.status == "succeeded" and j.provider == "higgs" for j in images)
        assert all(j.cost_usd == pytest.approx(0.094) and j.polls >= 1 for j in images)
        first = s.get(Asset, s.get(Frame, board.frame_ids[0]).selected_image_id)
        last = s.get(Asset, s.get(Frame, board.frame_ids[1]).selected_image_id)
        assert first.content_type == "image/png" and first.remote_url and (first.width, first.height) == (320, 180)
        take = s.get(Asset, s.get(Shot, board.shot_ids[0]).selected_clip_id)
        assert take.content_type == "video/mp4" and take.duration_s and take.duration_s > 0
        assert AssetStore(rt.data_dir).exists(take.storage_key)
    bodies = {r.slug: r.body for r in server.requests}
    clip_body = bodies["kling-video/omni/first-last-frame"]
    # The images Higgs just made are still online: their URLs are reused, nothing is uploaded.
    assert (clip_body["first_frame_url"], clip_body["last_frame_url"]) == (first.remote_url, last.remote_url)
    assert isinstance(clip_body["duration"], int) and not server.state.uploads
    assert server.charged_requests == 3 and max(server.charges_by_key().values()) == 1


def test_a_local_image_is_uploaded_for_a_clip(runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _higgs_runtime(runtime, server, higgs_video_model="kling-video/v2.1/pro/image-to-video")
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        request_image(s, board.frame_ids[0], settings=rt.settings, provider="offline")
    _drain(rt)
    with session_scope(rt.sessions) as s:
        clip_id = request_clip(s, board.shot_ids[0], settings=rt.settings).id
        assert s.get(Job, clip_id).depends_on == []  # Kling 2.1 takes no end frame
    _drain(rt)
    with rt.sessions() as s:
        clip = s.get(Job, clip_id)
        assert clip.status == "succeeded", clip.error
        uploaded = clip.params["_remote"]["inputs"]["start"]
    assert len(server.state.uploads) == 1 and "/files/" in uploaded
    assert server.requests[-1].body["image_url"] == uploaded and server.state.keyed_downloads == 0


def test_with_30_percent_faults_every_job_ends_and_nothing_is_paid_twice(runtime: Runtime) -> None:
    faults = {"concurrency_rate": 0.05, "rate_limit_rate": 0.05, "retry_after_s": 0.05, "server_error_rate": 0.08,
              "drop_rate": 0.04, "timeout_rate": 0.03, "hang_s": 1.0, "nsfw_rate": 0.03, "failed_rate": 0.02}
    with FakeHiggsServer(latency_s=0.15, seed=3, **faults) as server:
        rt = _higgs_runtime(runtime, server)
        with session_scope(rt.sessions) as s:
            board = make_board(s, shots=4, frames=4)
            ids = [j.id for j in request_video_images(s, board.video_id, settings=rt.settings).jobs]
        _drain(rt, providers=_providers(rt, timeout_s=0.5, max_attempts=3), concurrency=4)
        with rt.sessions() as s:
            jobs = [s.get(Job, i) for i in ids]
            assert {j.status for j in jobs} <= {"succeeded", "failed"}
            for job in jobs:
                if job.status == "failed":
                    assert job.error and job.error_category and "Traceback" not in job.error
            succeeded = [j for j in jobs if j.status == "succeeded"]
            assert len(succeeded) >= len(jobs) // 2
            assert {j.remote_request_id for j in succeeded} <= {r.request_id for r in server.requests if r.charged}
        assert sum(server.state.faults.values()) > 0
        assert max(server.charges_by_key().values()) == 1
        assert max(server.charges_by_body().values()) == 1
        assert server.charged_requests == len(succeeded)


@pytest.mark.parametrize("reply, message", [
    (Scripted(raw=b"<!doctype html><html><body>Sign in</body></html>", headers={"Content-Type": "text/html"}),
     "not an image (it looks like a web page)"),
    ("truncated", "damaged or incomplete"),
])
def test_bad_downloads_fail_the_job_cleanly(runtime: Runtime, server: FakeHiggsServer, reply: Any,
                                            message: str) -> None:
    rt = _higgs_runtime(runtime, server)
    if reply == "truncated":
        from tests.fakes.higgs_server import make_png

        png = make_png("x", (320, 180))
        reply = Scripted(raw=png[: len(png) // 2], headers={"Content-Type": "image/png"})
    server.script("output", *[reply] * 3)
    job_id = _image_job(rt)
    _drain(rt, max_attempts=2)
    with rt.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "failed" and message in job.error and job.error_category == "bad_output"
        assert s.get(Frame, job.frame_id).selected_image_id is None
    assert server.charged_requests == 1  # the render was paid once; the bad file never became a take


def test_an_oversized_download_is_refused(runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _higgs_runtime(runtime, server, max_download_mb=0.0002)  # ~200 bytes
    server.set(image_size=(1280, 720))
    job_id = _image_job(rt)
    _drain(rt)
    with rt.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "failed" and "cap" in job.error


def test_a_retired_model_fails_before_paying(runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _higgs_runtime(runtime, server)
    server.retire("higgsfield-ai/soul/standard")
    job_id = _image_job(rt)
    _drain(rt)
    with rt.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "failed" and "not available" in job.error and "retired" in job.error
    assert server.submits == 0


def test_cancel_a_queued_remote_request_and_retry_it(runtime: Runtime) -> None:
    with FakeHiggsServer(latency_s=30, queue_s=30) as server:
        rt = _higgs_runtime(runtime, server)
        providers = _providers(rt)
        job_id = _image_job(rt)
        worker = Worker(rt, providers=providers, idle_s=0.02)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            wait_for_job(rt, job_id, lambda j: j.remote_request_id is not None)
            with session_scope(rt.sessions) as s:
                cancel_job(s, job_id, actor="ana", providers=providers)
            wait_for_job(rt, job_id, lambda j: j.status == "canceled")
            assert server.requests[0].canceled
            server.set(latency_s=0.1, queue_s=0.0)
            with session_scope(rt.sessions) as s:
                job = retry_job(s, job_id, actor="ana")
                assert job.status == "pending" and job.remote_request_id is None  # a fresh request
            wait_for_job(rt, job_id, lambda j: j.status == "succeeded")
        finally:
            worker.stop()
            thread.join(10)
    assert server.charged_requests == 1 and server.created_requests == 2


@pytest.mark.slow  # two real worker processes; SQLite only (takeover on PostgreSQL: test_jobs_worker.py)
def test_a_worker_killed_mid_job_is_replaced_without_paying_twice(sqlite_runtime: Runtime) -> None:
    with FakeHiggsServer(latency_s=3.0) as server:
        rt = _higgs_runtime(sqlite_runtime, server)
        job_id = _image_job(rt)
        key_id, secret = server.credentials
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": rt.settings.db_url,
               "STUDIO_DATA_DIR": str(rt.data_dir), "HF_KEY": f"{key_id}:{secret}", "RENDERER": "higgs",
               "HIGGS_BASE_URL": server.base_url, "JOB_LEASE_S": "1.0", "ALLOW_PRIVATE_DOWNLOADS": "true",
               "ALLOW_HTTP_DOWNLOADS": "true"}
        first = subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_job(rt, job_id, lambda j: j.remote_request_id is not None, timeout=20)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        with rt.sessions() as s:
            assert s.get(Job, job_id).status == "submitted"  # mid-job: submitted, not finished
        second = subprocess.run([sys.executable, "-m", "core", "worker", "--drain"], cwd=ROOT, env=env, check=False,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr[-2000:]
        with rt.sessions() as s:
            job = s.get(Job, job_id)
            assert job.status == "succeeded", job.error
            assert job.attempts == 2  # the killed attempt and the one that finished it
        assert server.submits == 1 and server.created_requests == 1 and server.charged_requests == 1


def _image_job(rt: Runtime) -> int:
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        return request_image(s, board.frame_ids[0], settings=rt.settings).id

