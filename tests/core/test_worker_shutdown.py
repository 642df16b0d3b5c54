"""Stopping a worker takes seconds, not a render (issue 13, item 3): a job not yet submitted is handed back at
once, a submitted one is left with its remote id for the next worker, and no lease is left behind. Both databases,
against the local Higgs server (whose ledger shows nothing was paid twice); and the real studio and API processes
on SIGINT (SQLite)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.db import session_scope
from core.jobs import Worker, request_image
from core.models import Job
from core.runtime import Runtime
from tests.core.jobs_factory import make_board, wait_for_job
from tests.core.test_jobs_higgs import _higgs_runtime, _providers
from tests.fakes.higgs_server import FakeHiggsServer, Scripted
from tests.fakes.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _two_image_jobs(rt: Runtime) -> list[int]:
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        return [request_image(s, f, settings=rt.settings).id for f in board.frame_ids]


def _jobs(rt: Runtime) -> list[Job]:
    with rt.sessions() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def test_stopping_a_worker_hands_jobs_back_within_seconds_and_the_next_one_pays_once(runtime: Runtime) -> None:
    with FakeHiggsServer(latency_s=4.0, seed=1) as server:
        rt = _higgs_runtime(runtime, server)
        server.script("submit", Scripted.hang(30.0))  # one submit never answers in time (the client waits 10 s)
        ids = _two_image_jobs(rt)
        worker = Worker(rt, providers=_providers(rt, timeout_s=10.0), idle_s=0.02, concurrency=2)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            wait_for_job(rt, ids[0], lambda j: any(x.remote_request_id for x in _jobs(rt)), timeout=15)
            time.sleep(0.3)  # both jobs are now inside a provider call or waiting to poll
        finally:
            started = time.monotonic()
            worker.stop()
            thread.join(30)
            stopped_in = time.monotonic() - started
        assert not thread.is_alive()
        assert stopped_in < 4.0, f"the worker took {stopped_in:.1f} s to stop"
        jobs = _jobs(rt)
        assert all(j.lease_owner is None and j.lease_expires_at is None for j in jobs), \
            [(j.id, j.lease_owner) for j in jobs]
        submitted = [j for j in jobs if j.remote_request_id]
        waiting = [j for j in jobs if not j.remote_request_id]
        assert len(submitted) == 1 and submitted[0].status in ("submitted", "running")
        assert len(waiting) == 1 and waiting[0].status == "pending"

        server.set(latency_s=0.05)
        Worker(rt, providers=_providers(rt), idle_s=0.02, backoff_s=0.01).run(drain=True)
        jobs = _jobs(rt)
        assert [j.status for j in jobs] == ["succeeded", "succeeded"], [j.error for j in jobs]
        assert next(j for j in jobs if j.id == submitted[0].id).remote_request_id == submitted[0].remote_request_id
        assert max(server.charges_by_key().values()) == 1
        assert server.charged_requests == 2


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited before answering"
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout_s:g} s")


@pytest.mark.slow
@pytest.mark.parametrize("process", ["studio", "api"])
def test_ctrl_c_stops_the_embedded_worker_within_seconds(sqlite_runtime: Runtime, tmp_path: Path,
                                                         process: str) -> None:
    from tests.scale.test_scale_out import _open_a_session

    with FakeHiggsServer(latency_s=60.0, seed=2) as server:  # a render far longer than any shutdown may take
        rt = _higgs_runtime(sqlite_runtime, server)
        ids = _two_image_jobs(rt)
        key_id, secret = server.credentials
        env = {k: v for k, v in os.environ.items() if k not in ("STUDIO_BACKGROUND_WORKER", "CVS_API_TOKEN")}
        env.update(PYTHONPATH=str(ROOT), DATABASE_URL=rt.settings.db_url, STUDIO_DATA_DIR=str(rt.data_dir),
                   HF_KEY=f"{key_id}:{secret}", RENDERER="higgs", HIGGS_BASE_URL=server.base_url,
                   ALLOW_PRIVATE_DOWNLOADS="true", ALLOW_HTTP_DOWNLOADS="true", PYTHONUNBUFFERED="1")
        port = free_port()
        if process == "studio":
            args = ["-m", "streamlit", "run", "studio/app.py", "--server.port", str(port),
                    "--server.headless", "true"]
            health = f"http://127.0.0.1:{port}/_stcore/health"
        else:
            args = ["-m", "core", "serve", "--port", str(port)]
            health = f"http://127.0.0.1:{port}/docs"
        log = (tmp_path / "proc.log").open("wb")
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_http(health, proc)
            if process == "studio":
                _open_a_session(port)  # the first page run starts the embedded worker
            for job_id in ids:
                wait_for_job(rt, job_id, lambda j: j.remote_request_id is not None, timeout=30)
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
            stopped_in = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            log.close()
        output = (tmp_path / "proc.log").read_text(errors="replace")[-3000:]
        assert stopped_in < 6.0, f"{process} took {stopped_in:.1f} s to stop\n{output}"
        jobs = _jobs(rt)
        assert all(j.lease_owner is None for j in jobs), output
        assert all(j.status in ("submitted", "running") and j.remote_request_id for j in jobs)
        assert server.submits == 2
