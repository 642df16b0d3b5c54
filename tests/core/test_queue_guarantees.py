"""The queue never sticks and never pays twice (issue 13): a dead worker's image jobs are taken over even when a
clip waits for them (SQLite returned naive datetimes and every takeover crashed), a crash in one job never stops
the worker, and "one active job per input" holds under parallel requests. Both databases; the Higgs variants
check the local server's ledger for duplicate charges."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from core.assets import AssetStore
from core.db import session_scope
from core.jobs import Worker, request_clip, request_image, retry_job
from core.models import Job, utcnow
from core.render.providers import OfflineProvider, RenderProvider
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.core.jobs_factory import make_board, wait_for_job
from tests.core.test_jobs_higgs import _higgs_runtime, _providers
from tests.fakes.higgs_server import FakeHiggsServer


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)


def _offline(rt: Runtime) -> dict[str, RenderProvider]:
    return {"offline": OfflineProvider(AssetStore(rt.data_dir), clip_duration_s=1)}


def _drain(rt: Runtime, providers: dict[str, RenderProvider] | None = None) -> Worker:
    worker = Worker(rt, providers=providers or _offline(rt), backoff_s=0.01, idle_s=0.02, concurrency=2)
    worker.run(drain=True)
    return worker


def _kill_leases(rt: Runtime, kind: str) -> None:
    """What a worker killed with -9 leaves behind: its lease on the jobs, expired."""
    with session_scope(rt.sessions) as s:
        s.execute(update(Job).where(Job.kind == kind)
                  .values(lease_owner="dead-worker:1", lease_expires_at=utcnow() - timedelta(seconds=5)))


def test_datetimes_come_back_timezone_aware(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        job_id = request_image(s, board.frame_ids[0], settings=runtime.settings).id
        s.get(Job, job_id).lease_expires_at = utcnow()
    with runtime.sessions() as s:
        job = s.get(Job, job_id)
        for value in (job.created_at, job.lease_expires_at):
            assert isinstance(value, datetime) and value.utcoffset() == timedelta(0)


def test_a_dead_workers_images_are_taken_over_while_a_clip_waits(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        clip_id = request_clip(s, board.shot_ids[0], settings=runtime.settings).id
    _kill_leases(runtime, "image")
    _drain(runtime)
    with runtime.sessions() as s:
        jobs = list(s.scalars(select(Job)))
        assert {j.kind for j in jobs} == {"image", "clip"}
        assert all(j.status == "succeeded" for j in jobs), [(j.kind, j.status, j.error) for j in jobs]
        assert s.get(Job, clip_id).status == "succeeded"


def test_the_takeover_with_the_higgs_server_pays_each_render_once(runtime: Runtime) -> None:
    with FakeHiggsServer(latency_s=0.05, seed=5) as server:
        rt = _higgs_runtime(runtime, server)
        with session_scope(rt.sessions) as s:
            board = make_board(s, shots=1, frames=2)
            request_clip(s, board.shot_ids[0], settings=rt.settings)
        _kill_leases(rt, "image")
        _drain(rt, _providers(rt))
        with rt.sessions() as s:
            jobs = list(s.scalars(select(Job)))
            assert all(j.status == "succeeded" for j in jobs), [(j.kind, j.status, j.error) for j in jobs]
        assert server.charged_requests == len(jobs)
        assert max(server.charges_by_key().values()) == 1
        assert max(server.charges_by_body().values()) == 1


class _Crashing(OfflineProvider):
    """A provider with a bug: the first submit raises something no one expected."""

    def __init__(self, store: AssetStore) -> None:
        super().__init__(store, clip_duration_s=1)
        self.crashes = 0

    def submit(self, spec: Any, idempotency_key: str) -> Any:
        if self.crashes == 0:
            self.crashes += 1
            raise KeyError("boom")
        return super().submit(spec, idempotency_key)


def test_a_crash_in_one_job_fails_that_job_and_the_worker_goes_on(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=3)
        ids = [request_image(s, f, settings=runtime.settings).id for f in board.frame_ids]
    provider = _Crashing(AssetStore(runtime.data_dir))
    _drain(runtime, {"offline": provider})
    with runtime.sessions() as s:
        jobs = [s.get(Job, i) for i in ids]
        failed = [j for j in jobs if j.status == "failed"]
        assert len(failed) == 1 and "KeyError" in failed[0].error and failed[0].error_category == "internal"
        assert sum(j.status == "succeeded" for j in jobs) == 2


def test_a_crash_while_claiming_does_not_stop_the_worker(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        job_id = request_image(s, board.frame_ids[0], settings=runtime.settings).id
    worker = Worker(runtime, providers=_offline(runtime), backoff_s=0.01, idle_s=0.02)
    real = worker._claim
    calls = {"n": 0}

    def flaky(provider: str, limit: int) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TypeError("can't compare offset-naive and offset-aware datetimes")
        return real(provider, limit)

    monkeypatch.setattr(worker, "_claim", flaky)
    worker.run(drain=True)
    with runtime.sessions() as s:
        assert s.get(Job, job_id).status == "succeeded"
    assert worker.last_error and "TypeError" in worker.last_error


# ---- one active job per input ---------------------------------------------------------------------------------

def _race(n: int, fn: Callable[[], int]) -> list[int]:
    barrier = threading.Barrier(n)

    def one() -> int:
        barrier.wait(10)
        return fn()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: one(), range(n)))


def test_parallel_image_requests_make_one_job(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]

    def ask() -> int:
        with session_scope(runtime.sessions) as s:
            return request_image(s, frame_id, settings=runtime.settings, force=True).id

    ids = _race(12, ask)
    with runtime.sessions() as s:
        jobs = list(s.scalars(select(Job)))
    assert len(jobs) == 1 and set(ids) == {jobs[0].id}


def test_parallel_clip_requests_make_one_clip_and_one_image_per_frame(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        shot_id = make_board(s, shots=1, frames=2).shot_ids[0]

    def ask() -> int:
        with session_scope(runtime.sessions) as s:
            return request_clip(s, shot_id, settings=runtime.settings).id

    ids = _race(12, ask)
    with runtime.sessions() as s:
        jobs = list(s.scalars(select(Job)))
    assert sorted(j.kind for j in jobs) == ["clip", "image", "image"]
    assert set(ids) == {j.id for j in jobs if j.kind == "clip"}


def test_retrying_a_failed_job_while_the_same_render_is_queued_returns_that_job(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]
        first = request_image(s, frame_id, settings=runtime.settings)
        first.status, first.error = "failed", "the model crashed"
    with session_scope(runtime.sessions) as s:
        second = request_image(s, frame_id, settings=runtime.settings)
        assert second.id != first.id
    with session_scope(runtime.sessions) as s:
        again = retry_job(s, first.id)
        assert again.id == second.id
    with runtime.sessions() as s:
        assert s.get(Job, first.id).status == "failed"


def test_parallel_requests_with_the_higgs_worker_pay_once(runtime: Runtime) -> None:
    with FakeHiggsServer(latency_s=0.05, seed=9) as server:
        rt = _higgs_runtime(runtime, server)
        with session_scope(rt.sessions) as s:
            shot_id = make_board(s, shots=1, frames=2).shot_ids[0]
        stop = threading.Event()
        worker = Worker(rt, providers=_providers(rt), backoff_s=0.01, idle_s=0.02, concurrency=2)
        thread = threading.Thread(target=worker.run, kwargs={"stop_event": stop})
        thread.start()
        try:
            def ask() -> int:
                with session_scope(rt.sessions) as s:
                    return request_clip(s, shot_id, settings=rt.settings).id

            _race(10, ask)
        finally:
            stop.set()
            thread.join(20)
        _drain(rt, _providers(rt))
        with rt.sessions() as s:
            jobs = list(s.scalars(select(Job)))
        clips = [j for j in jobs if j.kind == "clip"]
        images = [j for j in jobs if j.kind == "image"]
        assert len(clips) == 1 and 1 <= len(images) <= 2  # the model may take a start frame only
        assert len({j.frame_id for j in images}) == len(images)  # one image job per frame
        assert all(j.status == "succeeded" for j in jobs), [(j.kind, j.status, j.error) for j in jobs]
        assert max(server.charges_by_key().values()) == 1
        assert max(server.charges_by_body().values()) == 1
        assert server.charged_requests == len(jobs)


def test_the_embedded_worker_restarts_after_its_loop_dies_and_says_so(runtime: Runtime,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from core.jobs import background_worker_problem, ensure_background_worker, stop_background_workers
    from core.jobs import worker as worker_mod

    real_run = worker_mod.Worker.run
    calls = {"n": 0}

    def dies_once(self: Worker, *a: Any, **kw: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the loop died")
        return real_run(self, *a, **kw)

    monkeypatch.setattr(worker_mod.Worker, "run", dies_once)
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]
        job_id = request_image(s, frame_id, settings=runtime.settings).id
    try:
        worker = ensure_background_worker(runtime)
        wait_for_job(runtime, job_id, lambda j: j.status == "succeeded", timeout=20)
        with runtime.sessions() as s:
            assert s.get(Job, job_id).status == "succeeded"
        assert worker.thread is not None and worker.thread.is_alive() and worker.restarts == 1
        problem = background_worker_problem(runtime)
        assert problem and "the loop died" in problem and "restarted 1" in problem
    finally:
        stop_background_workers()
    assert background_worker_problem(runtime) is None


def test_asking_again_for_a_clip_once_its_images_are_done_returns_the_waiting_clip(runtime: Runtime) -> None:
    """The clip queued before its images names them by job; asked for again after they rendered (a second tab, a
    retry of the request), it names them by take. Both are the same render: one clip job, paid once."""
    with session_scope(runtime.sessions) as s:
        shot_id = make_board(s, shots=1, frames=2).shot_ids[0]
        first = request_clip(s, shot_id, settings=runtime.settings)
        first.not_before = utcnow() + timedelta(hours=1)  # the worker leaves the clip alone for now
        first_id, image_ids = first.id, list(first.depends_on)
    stop = threading.Event()
    worker = Worker(runtime, providers=_offline(runtime), idle_s=0.02, concurrency=2)
    thread = threading.Thread(target=worker.run, kwargs={"stop_event": stop})
    thread.start()
    try:
        for image_id in image_ids:
            wait_for_job(runtime, image_id, lambda j: j.status == "succeeded", timeout=20)
    finally:
        stop.set()
        thread.join(20)
    with session_scope(runtime.sessions) as s:
        again = request_clip(s, shot_id, settings=runtime.settings)
        assert again.id == first_id
    with runtime.sessions() as s:
        assert len(list(s.scalars(select(Job).where(Job.kind == "clip")))) == 1


def test_a_request_that_checked_before_the_render_finished_reuses_its_take(runtime: Runtime,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A request slowed between its checks and its insert (waiting for SQLite's write lock, or descheduled) while
    the same render is queued, run and finished: it gets that job back, not a second paid one."""
    from core.jobs import queue

    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("on SQLite a request takes the write lock before its checks (BEGIN IMMEDIATE): another tab "
                    "waits for it, so this interleaving cannot happen; the parallel pay-once tests cover SQLite")
    with session_scope(runtime.sessions) as s:
        frame_id = make_board(s, shots=1, frames=1).frame_ids[0]
    real_prior = queue._prior_job
    slowed = []

    def slow_prior(session: Any, input_hash: str, **kw: Any) -> Any:
        found = real_prior(session, input_hash, **kw)  # nothing in flight, nothing to reuse: yet
        if not slowed:
            slowed.append(True)
            with session_scope(runtime.sessions) as other:  # meanwhile, another tab asks and a worker renders
                request_image(other, frame_id, settings=runtime.settings)
            _drain(runtime)
        return found

    monkeypatch.setattr(queue, "_prior_job", slow_prior)
    with session_scope(runtime.sessions) as s:
        job = request_image(s, frame_id, settings=runtime.settings)
        assert job.status == "succeeded"
    monkeypatch.undo()
    with runtime.sessions() as s:
        assert len(list(s.scalars(select(Job)))) == 1
