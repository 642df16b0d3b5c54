"""The worker: retries and backoff, failures in producer words, leases and takeover, dependencies, two workers
on one database, the embedded worker and the command line. Both databases."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.assets import AssetStore
from core.cli import main as cli_main
from core.db import session_scope
from core.errors import ProviderError
from core.jobs import (
    Worker,
    ensure_background_worker,
    request_clip,
    request_image,
    retry_job,
    stop_background_workers,
)
from core.models import Asset, Frame, Job, utcnow
from core.render.providers import OfflineProvider, RemoteResult, RenderSpec, Submitted
from core.runtime import Runtime
from tests.core.jobs_factory import make_board, wait_for_job
from pathlib import Path
from core.settings import Settings
from tests.conftest import make_test_settings

@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Clips from frames not yet approved: this module tests rendering; the approval gate has its own tests."""
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)


class ScriptedProvider(OfflineProvider):
    """The real offline renderer, with scripted failures and a count of what each job cost."""

    def __init__(self, store: AssetStore, *, submit_errors: list[ProviderError] | None = None,
                 outcome: str = "completed", delay_s: float = 0.0) -> None:
        super().__init__(store, clip_duration_s=1)
        self.submit_errors = list(submit_errors or [])
        self.outcome = outcome
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.calls: Counter[int] = Counter()  # submit calls per job
        self.rendered: Counter[int] = Counter()  # renders actually made (what would be charged) per job
        self.keys: set[str] = set()

    def submit(self, spec: RenderSpec, idempotency_key: str) -> Submitted:
        with self.lock:
            self.calls[spec.job_id] += 1
            if self.submit_errors:
                raise self.submit_errors.pop(0)
            fresh = idempotency_key not in self.keys
            self.keys.add(idempotency_key)
            if fresh:
                self.rendered[spec.job_id] += 1
        time.sleep(self.delay_s)
        return super().submit(spec, idempotency_key)

    def poll(self, request_id: str, status_url: str | None) -> RemoteResult:
        if self.outcome == "nsfw":
            return RemoteResult("nsfw")
        if self.outcome == "failed":
            return RemoteResult("failed", error="the model crashed")
        return super().poll(request_id, status_url)


def _worker(rt: Runtime, provider: OfflineProvider, **kw: object) -> Worker:
    kw.setdefault("concurrency", 2)
    return Worker(rt, providers={"offline": provider}, backoff_s=0.01, idle_s=0.02, **kw)  # type: ignore[arg-type]


def _image_job(rt: Runtime) -> int:
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        return request_image(s, board.frame_ids[0], settings=rt.settings, provider="offline").id


def test_retryable_errors_back_off_then_succeed_without_paying_twice(runtime: Runtime) -> None:
    job_id = _image_job(runtime)
    busy = ProviderError("queue full", retryable=True, retry_after=0.01, category="busy")
    provider = ScriptedProvider(AssetStore(runtime.data_dir), submit_errors=[busy, busy])
    _worker(runtime, provider).run(drain=True)
    with runtime.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "succeeded" and job.attempts == 3 and job.error is None
        assert s.get(Frame, job.frame_id).selected_image_id is not None
    assert provider.calls[job_id] == 3 and provider.rendered[job_id] == 1


def test_errors_fail_the_job_in_producer_words(runtime: Runtime) -> None:
    job_id = _image_job(runtime)
    refused = ProviderError("Higgs submit was refused (403): not enough credits", category="credits")
    _worker(runtime, ScriptedProvider(AssetStore(runtime.data_dir), submit_errors=[refused])).run(drain=True)
    busy = [ProviderError("server error 502", retryable=True, category="server")] * 5
    job2 = _image_job(runtime)
    _worker(runtime, ScriptedProvider(AssetStore(runtime.data_dir), submit_errors=busy),
            max_attempts=3).run(drain=True)
    with runtime.sessions() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.error_category, job.attempts) == ("failed", "credits", 1)
        assert "not enough credits" in job.error
        gave_up = s.get(Job, job2)
        assert gave_up.status == "failed" and gave_up.attempts == 3 and "server error 502" in gave_up.error


def test_moderation_block_fails_the_clip_waiting_for_it(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        clip_id = request_clip(s, board.shot_ids[0], settings=runtime.settings, provider="offline").id
    _worker(runtime, ScriptedProvider(AssetStore(runtime.data_dir), outcome="nsfw")).run(drain=True)
    with runtime.sessions() as s:
        clip = s.get(Job, clip_id)
        image = s.get(Job, clip.depends_on[0])
        assert image.status == "failed" and image.error == "Blocked by moderation: edit the prompt and re-render"
        assert image.error_category == "nsfw"
        assert clip.status == "failed" and clip.error_category == "dependency"
        assert "image of frame 1" in clip.error and "Blocked by moderation" in clip.error


def test_a_job_whose_worker_died_is_taken_over_and_polled_not_resubmitted(runtime: Runtime) -> None:
    job_id = _image_job(runtime)
    provider = ScriptedProvider(AssetStore(runtime.data_dir))
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, job_id)
        spec = RenderSpec(job_id=job.id, kind="image", model=job.model, prompt=job.prompt_text, params=job.params)
        sub = OfflineProvider.submit(provider, spec, job.idempotency_key)  # the dead worker's POST
        job.status, job.remote_request_id, job.submitted_at = "submitted", sub.request_id, utcnow()
        job.lease_owner, job.lease_expires_at = "dead-worker", utcnow() - timedelta(seconds=1)
    _worker(runtime, provider).run(drain=True)
    with runtime.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "succeeded" and job.polls == 1
    assert provider.calls[job_id] == 0  # resumed polling; never submitted again


def test_a_live_lease_is_respected(runtime: Runtime) -> None:
    job_id = _image_job(runtime)
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, job_id)
        job.lease_owner, job.lease_expires_at = "busy-worker", utcnow() + timedelta(seconds=60)
    provider = ScriptedProvider(AssetStore(runtime.data_dir))
    stop = threading.Event()
    worker = _worker(runtime, provider)
    thread = threading.Thread(target=worker.run, kwargs={"stop_event": stop})
    thread.start()
    time.sleep(0.4)
    stop.set()
    thread.join(5)
    with runtime.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "pending" and job.lease_owner == "busy-worker"
    assert provider.calls[job_id] == 0


def test_two_workers_never_run_the_same_job(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=6, frames=4)
        ids = [request_image(s, f, settings=runtime.settings, provider="offline").id for f in board.frame_ids]
    # Slow enough renders that both workers are surely running before the queue is empty, even on a busy CI box.
    provider = ScriptedProvider(AssetStore(runtime.data_dir), delay_s=0.1)
    workers = [_worker(runtime, provider, concurrency=4, worker_id=f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"drain": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with runtime.sessions() as s:
        assert {s.get(Job, i).status for i in ids} == {"succeeded"}
    assert all(provider.calls[i] == 1 for i in ids), provider.calls
    assert sum(w.processed for w in workers) == len(ids)
    assert all(w.processed > 0 for w in workers)  # both really took part


def test_background_worker_is_started_once_and_renders(runtime: Runtime) -> None:
    try:
        first = ensure_background_worker(runtime)
        assert ensure_background_worker(runtime) is first and first.thread.is_alive()
        job_id = _image_job(runtime)
        wait_for_job(runtime, job_id, lambda j: j.status == "succeeded", timeout=20)
        with runtime.sessions() as s:
            assert s.get(Job, job_id).status == "succeeded"
    finally:
        stop_background_workers()
    assert not first.thread.is_alive()


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("DATABASE_URL", runtime.settings.db_url)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(runtime.data_dir))
    monkeypatch.setenv("RENDERER", "offline")
    monkeypatch.setenv("CLIP_DURATION_S", "1")
    monkeypatch.setenv("ALLOW_UNAPPROVED_CLIPS", "true")
    for name in ("HF_KEY", "HF_API_KEY", "HF_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    yield runtime


def test_command_line_render_jobs_and_worker(cli_env: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    with session_scope(cli_env.sessions) as s:
        board = make_board(s, shots=1, frames=2)
    assert cli_main(["render", "clip", "--video", str(board.video_id), "--estimate"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 2
    assert cli_main(["jobs"]) == 0 and json.loads(capsys.readouterr().out) == []  # nothing queued
    assert cli_main(["render", "images", "--video", str(board.video_id)]) == 0
    queued = json.loads(capsys.readouterr().out)
    assert len(queued["jobs"]) == 2 and queued["estimate"].endswith("free (offline)")
    assert cli_main(["jobs", "--status", "pending"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert cli_main(["worker", "--drain"]) == 0
    capsys.readouterr()
    assert cli_main(["render", "clip", "--shot", str(board.shot_ids[0]), "--wait"]) == 0
    clip = json.loads(capsys.readouterr().out)["jobs"]
    assert [j["kind"] for j in clip] == ["clip"] and clip[0]["status"] == "succeeded"
    assert cli_main(["jobs"]) == 0
    assert {j["status"] for j in json.loads(capsys.readouterr().out)} == {"succeeded"}
    assert cli_main(["render", "images", "--frame", "999999"]) == 2
    assert "does not exist" in capsys.readouterr().err
    with cli_env.sessions() as s:
        assert s.scalar(select(Job).where(Job.kind == "clip")).status == "succeeded"


def test_a_clip_whose_start_image_file_vanished_fails_clearly(runtime: Runtime) -> None:
    rt = Runtime(settings=runtime.settings.model_copy(update={"clip_duration_s": 1}), engine=runtime.engine,
                 sessions=runtime.sessions)
    frame_job = _image_job(rt)
    provider = ScriptedProvider(AssetStore(rt.data_dir))
    _worker(rt, provider).run(drain=True)
    with session_scope(rt.sessions) as s:
        frame = s.get(Frame, s.get(Job, frame_job).frame_id)
        AssetStore(rt.data_dir).path(s.get(Asset, frame.selected_image_id).storage_key).unlink()
        clip_id = request_clip(s, frame.shot_id, settings=rt.settings, provider="offline").id
    _worker(rt, provider).run(drain=True)
    with rt.sessions() as s:
        clip = s.get(Job, clip_id)
        assert clip.status == "failed" and "missing from the data folder" in clip.error
        assert "Traceback" not in clip.error and "Unexpected" not in clip.error


def test_a_slow_submit_keeps_its_lease(runtime: Runtime) -> None:
    """A provider call longer than the lease (a big upload, a retried submit) must not let a second worker in."""
    rt = Runtime(settings=runtime.settings.model_copy(update={"job_lease_s": 1.0}), engine=runtime.engine,
                 sessions=runtime.sessions)
    job_id = _image_job(rt)
    provider = ScriptedProvider(AssetStore(rt.data_dir), delay_s=2.5)
    workers = [_worker(rt, provider, worker_id=f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"drain": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with rt.sessions() as s:
        assert s.get(Job, job_id).status == "succeeded"
    assert provider.calls[job_id] == 1


class StuckProvider(ScriptedProvider):
    """Renders that stay "running" past the deadline until `release()`."""

    running = True

    def poll(self, request_id: str, status_url: str | None) -> RemoteResult:
        return RemoteResult("running") if self.running else super().poll(request_id, status_url)

    def poll_delays(self) -> Iterator[float]:
        return itertools.repeat(0.05)

    def deadline_s(self, kind: str) -> float:  # type: ignore[override]
        return 0.4


def test_a_render_past_its_deadline_fails_and_retry_resumes_the_same_request(runtime: Runtime) -> None:
    job_id = _image_job(runtime)
    provider = StuckProvider(AssetStore(runtime.data_dir))
    _worker(runtime, provider).run(drain=True)
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, job_id)
        assert (job.status, job.error_category) == ("failed", "timeout")
        assert "retry the job to keep waiting" in job.error and job.polls >= 3
        request_id = job.remote_request_id
        retry_job(s, job_id, actor="ana")
        assert job.status == "submitted" and job.remote_request_id == request_id
    provider.running = False
    _worker(runtime, provider).run(drain=True)
    with runtime.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "succeeded" and job.remote_request_id == request_id
    assert provider.calls[job_id] == 1  # waited again for the same request; never resubmitted
