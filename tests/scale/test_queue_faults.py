"""The whole queue under faults (issue 13): images and the clips waiting for them, rendered by worker processes
against the local Higgs server injecting 400 concurrency limits, 429s with Retry-After, 5xx (some after the
request was accepted), hangs past the client timeout and dropped connections; one worker is SIGKILLed while it
holds submitted jobs. Every job must end (succeeded or failed with a reason), and the server's ledger must show
no render charged twice and no paid render left uncollected. SQLite (the studio's default) and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.jobs import request_clip, request_image
from core.models import JOB_ACTIVE, Asset, Job
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.core.jobs_factory import make_board
from tests.core.test_jobs_higgs import _higgs_runtime
from tests.fakes.higgs_server import FakeHiggsServer

ROOT = Path(__file__).resolve().parents[2]
SHOTS, FRAMES = 4, 2  # 4 clips waiting for 8 images, plus one lone image per shot
DEADLINE_S = 240.0
# FAULT_SEED=n replays another roll of the same fault rates (each seed passed on both databases when written).
FAULTS = {"concurrency_rate": 0.05, "rate_limit_rate": 0.06, "retry_after_s": 0.1, "server_error_rate": 0.10,
          "drop_rate": 0.04, "timeout_rate": 0.03, "hang_s": 2.0, "nsfw_rate": 0.04, "failed_rate": 0.03}

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    log_file: IO[bytes]

    def tail(self) -> str:
        self.log_file.flush()
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + self.log.read_text(errors="replace")[-3000:]


def _env(rt: Runtime, server: FakeHiggsServer) -> dict[str, str]:
    key_id, secret = server.credentials
    env = {k: v for k, v in os.environ.items()
           if k not in ("STUDIO_BACKGROUND_WORKER", "HF_API_KEY", "HF_API_SECRET", "OPENAI_API_KEY")}
    # A short lease so the killed worker's jobs are taken over within the test; a client timeout shorter than
    # the server's hangs so those are ambiguous replies too; the clip model takes a first and a last frame.
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", DATABASE_URL=rt.settings.db_url,
               STUDIO_DATA_DIR=str(rt.data_dir), HF_KEY=f"{key_id}:{secret}", RENDERER="higgs",
               HIGGS_BASE_URL=server.base_url, HIGGS_TIMEOUT_S="1.0", JOB_LEASE_S="2.0",
               ALLOW_PRIVATE_DOWNLOADS="true", ALLOW_HTTP_DOWNLOADS="true", ALLOW_UNAPPROVED_CLIPS="true",
               HIGGS_VIDEO_MODEL="kling-video/omni/first-last-frame")
    return env


def _start(name: str, env: dict[str, str], logs: Path) -> Proc:
    log = logs / f"{name}.log"
    log_file = log.open("wb")
    popen = subprocess.Popen([sys.executable, "-m", "core", "worker", "--concurrency", "3"], cwd=ROOT, env=env,
                             stdout=log_file, stderr=subprocess.STDOUT)
    return Proc(name, popen, log, log_file)


def _queue(rt: Runtime) -> list[int]:
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=SHOTS + 1, frames=FRAMES)
        for shot_id in board.shot_ids[:SHOTS]:
            request_clip(s, shot_id, settings=rt.settings)
        for frame_id in board.frames[SHOTS]:
            request_image(s, frame_id, settings=rt.settings)
    with rt.sessions() as s:
        return list(s.scalars(select(Job.id)))


def _held_by(rt: Runtime, pid: int) -> int:
    """Submitted jobs (a remote request exists) whose lease the process `pid` holds."""
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Job).where(
            Job.lease_owner.like(f"%:{pid}:%"), Job.remote_request_id.is_not(None),
            Job.status.in_(JOB_ACTIVE))) or 0


def _wait(what: str, check: object, procs: list[Proc], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        for proc in procs:
            assert proc.popen.poll() is None, proc.tail()
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {timeout:g} s\n" + "\n".join(p.tail() for p in procs))


def _active(rt: Runtime) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Job).where(Job.status.in_(JOB_ACTIVE))) or 0


def test_faults_and_a_killed_worker_end_every_job_and_charge_none_twice(runtime: Runtime, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[Proc] = []
    with FakeHiggsServer(latency_s=1.5, seed=int(os.environ.get("FAULT_SEED", "13")), **FAULTS) as server:
        runtime = _higgs_runtime(runtime, server, higgs_video_model="kling-video/omni/first-last-frame")
        ids = _queue(runtime)
        env = _env(runtime, server)
        try:
            victim = _start("victim", env, logs)
            procs.append(victim)
            _wait("the first worker submitting renders", lambda: _held_by(runtime, victim.popen.pid) >= 2,
                  procs, 60)
            procs.append(_start("survivor", env, logs))
            os.kill(victim.popen.pid, signal.SIGKILL)  # mid-batch: it holds submitted renders nobody collected
            victim.popen.wait(10)
            procs.remove(victim)
            victim.log_file.close()
            procs.append(_start("replacement", env, logs))
            _wait("every job ending", lambda: _active(runtime) == 0, procs, DEADLINE_S)
        finally:
            for proc in procs:
                if proc.popen.poll() is None:
                    proc.popen.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.popen.wait(20)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    proc.popen.wait(5)
                proc.log_file.close()

        with runtime.sessions() as s:
            jobs = [s.get(Job, i) for i in ids]
            takes = Counter(s.scalars(select(Asset.job_id).where(Asset.job_id.is_not(None))))
            assert all(j is not None and j.provider == "higgs" for j in jobs)
            statuses = Counter(j.status for j in jobs)
            print(f"{len(jobs)} jobs: {dict(statuses)}; faults {dict(server.state.faults)}")
            assert set(statuses) <= {"succeeded", "failed"}, statuses
            for job in jobs:
                assert job.lease_owner is None, (job.id, job.status, job.lease_owner)
                if job.status == "failed":
                    assert job.error and job.error_category and "Traceback" not in job.error, job.error
            succeeded = [j for j in jobs if j.status == "succeeded"]
            assert len(succeeded) >= len(jobs) // 2, [(j.kind, j.error) for j in jobs if j.status == "failed"]
            assert {takes.get(j.id, 0) for j in succeeded} == {1}  # one take per finished job
            assert any(j.attempts >= 2 for j in jobs)  # the killed worker's jobs were taken over
            remote_ids = [j.remote_request_id for j in succeeded]
        assert len(set(remote_ids)) == len(remote_ids)
        charged = {r.request_id for r in server.requests if r.charged}
        assert set(remote_ids) <= charged
        assert sum(server.state.faults.values()) > 0
        assert max(server.charges_by_key().values()) == 1
        assert max(server.charges_by_body().values()) == 1
        # Every paid render became a take: nothing billed and never collected.
        assert server.charged_requests == len(succeeded), (server.charged_requests, len(succeeded))
