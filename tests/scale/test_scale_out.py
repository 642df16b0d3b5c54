"""Scale-out: 3 `python -m core worker` processes and 1 studio (`streamlit run`, with its embedded worker), each
on its own data dir, share one PostgreSQL database and one S3 bucket (moto in server mode). 200 offline image
jobs: every job runs exactly once, the work is spread over the processes, and every asset is readable from
every process's view.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import func, select

from core.assets import AssetStore
from core.db import session_scope
from core.jobs import request_video_images
from core.library import ingest_file, source_path
from core.models import JOB_ACTIVE, Activity, Asset, Job, SourceFile
from core.prompts.batch import frames_in_scope, refine_frames
from core.prompts.offline import OfflineRefiner
from core.runtime import Runtime, open_runtime
from core.settings import load_settings
from core.storage import S3Storage
from tests.conftest import make_test_settings, truncate_pg
from tests.core.docx_factory import make_docx
from tests.fakes.ports import free_port
from tests.fakes.s3_server import S3Server, running_s3

ROOT = Path(__file__).resolve().parents[2]
SHOTS, FRAMES = 20, 10  # 200 frames, one image job each
WORKERS = 3
DEADLINE_S = 300.0  # a bound for "never finishes", not a speed target (bench/ measures speed)

pytestmark = pytest.mark.slow


@dataclass
class Proc:
    name: str
    data_dir: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes]
    log: Path
    log_file: IO[bytes]

    def tail(self) -> str:
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


def _env(data_dir: Path, pg_url: str, s3_env: dict[str, str]) -> dict[str, str]:
    """A process's environment: its own data dir; the shared database and bucket; offline everything."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("STUDIO_BACKGROUND_WORKER", "HF_KEY", "HF_API_KEY", "HF_API_SECRET", "OPENAI_API_KEY")}
    env.update(s3_env, STUDIO_DATA_DIR=str(data_dir), DATABASE_URL=pg_url, RENDERER="offline", REFINER="offline",
               PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def _start(name: str, args: list[str], data_dir: Path, env: dict[str, str], logs: Path) -> Proc:
    data_dir.mkdir(parents=True)
    log = logs / f"{name}.log"
    log_file = log.open("wb")
    popen = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    return Proc(name, data_dir, env, popen, log, log_file)


def _wait_healthy(proc: Proc, port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.popen.poll() is None, proc.tail()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the studio did not come up in {timeout_s:g} s\n{proc.tail()}")


def _open_a_session(port: int) -> None:
    """What a browser tab does: open the websocket and run the app once, which starts the embedded worker."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def run() -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=None) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_script_hash = ""
            await ws.send(msg.SerializeToString())
            while True:
                forward = ForwardMsg()
                forward.ParseFromString(await asyncio.wait_for(ws.recv(), 60))
                if forward.WhichOneof("type") == "script_finished":
                    return

    asyncio.run(run())


def _seed_storyboard(rt: Runtime) -> tuple[int, int]:
    """One video of SHOTS × FRAMES frames, ingested (source into the bucket) and refined offline."""
    body = " ".join(f"يشرح المعلم الفكرة رقم {i} أمام الطلاب." for i in range(1, SHOTS * FRAMES + 1))
    data = make_docx([("heading", "الفيديو الأول: التوسع"), ("para", body)])
    with session_scope(rt.sessions) as s:
        result = ingest_file(s, data, "scale.docx", settings=rt.settings, shots=SHOTS, frames=FRAMES)
    with rt.sessions() as s:
        frame_ids = frames_in_scope(s, file_id=result.source_file_id)
        source = s.get(SourceFile, result.source_file_id)
        assert source is not None
        video_id = source.videos[0].id
    assert len(frame_ids) == SHOTS * FRAMES
    summary = refine_frames(rt.sessions, frame_ids, OfflineRefiner(), concurrency=4)
    assert summary.refined == SHOTS * FRAMES, summary.errors
    return result.source_file_id, video_id


def _wait_terminal(rt: Runtime, procs: list[Proc]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_S:
        for proc in procs:
            assert proc.popen.poll() is None, proc.tail()
        with rt.sessions() as s:
            active = s.scalar(select(func.count()).select_from(Job).where(Job.status.in_(JOB_ACTIVE)))
        if active == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"{active} jobs still active after {DEADLINE_S:g} s\n" + "\n".join(p.tail() for p in procs))


def test_three_workers_and_a_studio_share_postgres_and_a_bucket(pg_url: str, s3: S3Server, tmp_path: Path) -> None:
    truncate_pg(pg_url)
    bucket = s3.new_bucket()
    s3_env = s3.env(bucket)
    logs = tmp_path / "logs"
    logs.mkdir()
    seed = open_runtime(make_test_settings(tmp_path / "seed", pg_url, **s3.settings_overrides(bucket),
                                           renderer="offline", refiner="offline"))
    procs: list[Proc] = []
    try:
        file_id, video_id = _seed_storyboard(seed)
        for n in range(1, WORKERS + 1):
            data_dir = tmp_path / f"worker{n}"
            procs.append(_start(f"worker{n}", ["-m", "core", "worker"], data_dir,
                                _env(data_dir, pg_url, s3_env), logs))
        port = free_port()
        studio_dir = tmp_path / "studio"
        studio = _start("studio", ["-m", "streamlit", "run", "studio/app.py", "--server.port", str(port),
                                   "--server.address", "127.0.0.1", "--server.headless", "true"],
                        studio_dir, _env(studio_dir, pg_url, s3_env), logs)
        procs.append(studio)
        _wait_healthy(studio, port)
        _open_a_session(port)

        with session_scope(seed.sessions) as s:
            batch = request_video_images(s, video_id, settings=seed.settings)
            assert batch.created == SHOTS * FRAMES and not batch.skipped
        elapsed = _wait_terminal(seed, procs)
        print(f"{SHOTS * FRAMES} jobs on {len(procs)} processes in {elapsed:.1f} s")

        _assert_every_job_ran_once(seed)
        _assert_work_was_spread(seed, procs)
        _assert_every_asset_is_readable_everywhere(seed, procs, file_id, s3, bucket)
    finally:
        for proc in procs:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in procs:
            try:
                proc.popen.wait(15)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)
            proc.log_file.close()
        seed.engine.dispose()


def _assert_every_job_ran_once(rt: Runtime) -> None:
    with rt.sessions() as s:
        jobs = list(s.scalars(select(Job)))
        assets_per_job = Counter(s.scalars(select(Asset.job_id)))
        outcomes = Counter((a.action, a.detail.get("job_id")) for a in s.scalars(
            select(Activity).where(Activity.actor.like("worker %"))))  # everything any worker logged
    assert len(jobs) == SHOTS * FRAMES
    assert Counter(j.status for j in jobs) == {"succeeded": SHOTS * FRAMES}, [j.error for j in jobs if j.error]
    # Claimed once: every claim that starts work bumps `attempts`, so a second run anywhere would show here.
    assert {j.attempts for j in jobs} == {1}
    # Submitted once: one remote request per job, never shared; one take per job; one success logged per job.
    assert len({j.remote_request_id for j in jobs}) == len(jobs) and None not in {j.remote_request_id for j in jobs}
    assert assets_per_job == {j.id: 1 for j in jobs}
    assert outcomes == {("render.succeeded", j.id): 1 for j in jobs}


def _assert_work_was_spread(rt: Runtime, procs: list[Proc]) -> None:
    with rt.sessions() as s:
        actors = list(s.scalars(select(Activity.actor).where(Activity.action == "render.succeeded")))
    # A worker's id is "host:pid:random"; map each success to the process that ran it.
    by_pid = Counter(int(actor.removeprefix("worker ").split(":")[1]) for actor in actors)
    per_process = {p.name: by_pid.get(p.popen.pid, 0) for p in procs}
    print("jobs per process:", per_process)
    assert sum(per_process.values()) == SHOTS * FRAMES, by_pid  # nobody else (e.g. the test process) ran any
    assert all(n > 0 for n in per_process.values()), per_process  # the studio's embedded worker took part too
    assert max(per_process.values()) < SHOTS * FRAMES * 0.8, per_process


def _assert_every_asset_is_readable_everywhere(rt: Runtime, procs: list[Proc], file_id: int, s3: S3Server,
                                               bucket: str) -> None:
    with rt.sessions() as s:
        assets = [(a.storage_key, a.sha256, a.size_bytes) for a in s.scalars(select(Asset))]
        source = s.get(SourceFile, file_id)
        assert source is not None
        stored_name = source.stored_name
    assert len({key for key, _, _ in assets}) == len(assets)  # 200 different images, 200 different objects
    objects = set(s3.keys(bucket))
    assert {f"studio/{key}" for key, _, _ in assets} <= objects and f"studio/{stored_name}" in objects

    # The settings each process built from its environment: its data dir, the shared database and bucket.
    views = [(p.name, load_settings(p.env, secrets_file=p.data_dir / "no-secrets.toml")) for p in procs]
    for name, settings in views:
        store = AssetStore.from_settings(settings)  # a fresh client, as that process would build it
        assert isinstance(store.storage, S3Storage) and store.storage.bucket == bucket
        for key, sha, size in assets:
            data = store.read(key)
            assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha, size), (name, key)
        # Nothing durable was kept in the process's own data dir.
        assert not (settings.data_dir / "assets").exists(), name
    # Through the local caches of two processes (the studio's and a worker's): real files with the right bytes.
    for name, settings in (views[-1], views[0]):
        store = AssetStore.from_settings(settings)
        for key, sha, _ in assets[:: max(1, len(assets) // 20)]:
            path = store.open_local(key)
            assert path.is_relative_to(settings.data_dir / "cache"), name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
        with rt.sessions() as s:
            source = s.get(SourceFile, file_id)
            assert source is not None and source_path(settings, source).stat().st_size == source.size_bytes

