"""Benchmark: 20 concurrent studio sessions browse a 30-video script while workers run 300 offline jobs.

    PYTHONPATH=. .venv/bin/python bench/load.py [--sessions 20] [--jobs 300] [--videos 30] [--workers 2]
        [--think 3] [--worker-nice 10] [--db URL]

Each session is a Streamlit `AppTest` (the real app script, its router and pages, run in-process) on its own
thread, as a studio process runs its sessions: one process, one cached runtime, one connection pool, one
Streamlit runtime (see `share_one_streamlit_runtime`). A session opens the studio, then keeps opening Library,
Storyboard, Prompts, Images or Jobs for a random video, pausing `--think` seconds on average between pages
(a producer reads the page; 0 = back-to-back clicks, which on one process only measures the GIL), until every
job has finished. The jobs run in `python -m core worker` subprocesses, as deployed; on a shared machine they
run niced (`--worker-nice`) so renders yield the CPU to the studio. Idle runs are the same page mix from one
session with no other session and no job running, measured before the jobs are queued (empty Jobs page, no
images) and after they finished (300 images, a full Jobs page), pooled, so the idle baseline spans the content
the load run sees.

Printed: p50 / p95 page run time idle and under load, per page and overall, their ratio, and the jobs'
throughput. Target: p95 under load ≤ 3 × idle p95. Exit status 1 when missed or when any page run failed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "studio" / "app.py"
PAGES = ("library", "storyboard", "prompts", "images", "jobs")
TARGET_RATIO = 3.0


@dataclass
class Visit:
    page: str
    seconds: float
    started: float
    failed: str | None = None


@dataclass
class Sample:
    visits: list[Visit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, visit: Visit) -> None:
        with self.lock:
            self.visits.append(visit)


def share_one_streamlit_runtime() -> None:
    """Make concurrent AppTests behave like one server process.

    `AppTest.run` installs a mock `Runtime` singleton for the run and sets it back to None when done, so a second
    session running at the same time loses it mid-run ("Runtime hasn't been created!"). A real server has one
    Runtime shared by all its sessions; here every session gets one shared instance of the same mock AppTest
    builds (in-memory media files, data frames, caches), whatever AppTest assigns.
    """
    from unittest.mock import MagicMock

    from streamlit import config
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime import Runtime as StreamlitRuntime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test

    shared = MagicMock(spec=StreamlitRuntime)
    shared.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    shared.dataframe_source_mgr = DataframeSourceManager()
    shared.cache_storage_manager = MemoryCacheStorageManager()
    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    shared.bidi_component_registry = components
    StreamlitRuntime.instance = classmethod(lambda cls: shared)  # type: ignore[method-assign,assignment]
    # One compiled-script cache, as a server keeps: AppTest builds a new one per run, so every run would parse
    # the pages again, and CPython 3.11's parser is not safe to run from several threads at once.
    script_cache = ScriptCache()
    app_test.ScriptCache = lambda: script_cache
    StreamlitRuntime.exists = classmethod(lambda cls: True)  # type: ignore[method-assign,assignment]
    # AppTest patches `config.get_option` around each run; overlapping patches restore each other's mocks, so
    # make the option they patch already true for everyone.
    config.set_option("global.appTest", True)


class Session:
    """One producer's browser tab: an AppTest kept across page opens (session state and widgets persist)."""

    def __init__(self, file_id: int, video_ids: list[int], seed: int) -> None:
        from streamlit.testing.v1 import AppTest

        self.rng = random.Random(seed)
        self.video_ids = video_ids
        self.at = AppTest.from_file(str(APP), default_timeout=120)
        self.at.query_params["script"] = str(file_id)
        self.at.query_params["video"] = str(video_ids[0])
        self.at.run()  # opening the studio: not a page visit of the sample
        self._check()

    def visit(self, page: str | None = None) -> Visit:
        """Open `page` (default: a random one of PAGES) for a random video; the run is timed."""
        page = page or self.rng.choice(PAGES)
        self.at.session_state["video_id"] = self.rng.choice(self.video_ids)
        self.at.switch_page(f"../pages/{page}.py")
        began = time.perf_counter()
        try:
            self.at.run()
            failed = self._problem()
        except Exception as err:  # noqa: BLE001 - a failed run is counted and reported, not fatal to the bench
            failed = f"{type(err).__name__}: {err}"
        return Visit(page, time.perf_counter() - began, began, failed)

    def _problem(self) -> str | None:
        if self.at.exception:
            return "; ".join(str(e.value)[:200] for e in self.at.exception)
        if self.at.error:
            return "; ".join(str(e.value)[:200] for e in self.at.error)
        return None

    def _check(self) -> None:
        problem = self._problem()
        if problem:
            raise SystemExit(f"the studio did not open cleanly: {problem}")


def build_script(rt: Runtime, *, words: int, videos: int) -> tuple[int, list[int], list[int]]:
    """Ingest a generated Arabic script (bench/ingest.py) and refine every frame offline."""
    from sqlalchemy import select

    from bench.ingest import make_script
    from core.db import session_scope
    from core.library import ingest_file
    from core.models import Video
    from core.prompts import OfflineRefiner, frames_in_scope, refine_frames

    data, _ = make_script(words=words, videos=videos)
    with session_scope(rt.sessions) as s:
        file_id = ingest_file(s, data, "load-bench.docx", settings=rt.settings, shots=4, frames=3,
                              actor="bench").source_file_id
    with rt.sessions() as s:
        video_ids = list(s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)))
        frame_ids = frames_in_scope(s, file_id=file_id)
    refine_frames(rt.sessions, frame_ids, OfflineRefiner(), concurrency=2)
    return file_id, video_ids, frame_ids


def queue_jobs(rt: Runtime, frame_ids: list[int], jobs: int) -> list[int]:
    from core.db import session_scope
    from core.jobs import request_image

    if jobs > len(frame_ids):
        raise SystemExit(f"--jobs {jobs} needs that many frames; the script has {len(frame_ids)}")
    picked = random.Random(3).sample(frame_ids, jobs)
    with session_scope(rt.sessions) as s:
        return [request_image(s, fid, settings=rt.settings, provider="offline", actor="bench").id
                for fid in picked]


def unfinished(rt: Runtime, ids: list[int]) -> int:
    from sqlalchemy import func, select

    from core.models import JOB_ACTIVE, Job

    with rt.sessions() as s:
        return int(s.scalar(select(func.count(Job.id)).where(Job.id.in_(ids), Job.status.in_(JOB_ACTIVE))) or 0)


def job_statuses(rt: Runtime, ids: list[int]) -> dict[str, int]:
    from sqlalchemy import func, select

    from core.models import Job

    with rt.sessions() as s:
        return dict(s.execute(select(Job.status, func.count(Job.id)).where(Job.id.in_(ids))
                              .group_by(Job.status)).all())  # type: ignore[arg-type]


@contextmanager
def workers(n: int, concurrency: int, env: dict[str, str], log_dir: Path, *,
            nice: int = 0) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    for i in range(n):
        log = open(log_dir / f"worker-{i}.log", "wb")  # noqa: SIM115 - closed with the process below
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "core", "worker", "--drain", "--concurrency", str(concurrency)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None))
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
            p.wait(timeout=30)


def idle_run(file_id: int, video_ids: list[int], visits: int, seed: int, sample: Sample) -> None:
    session = Session(file_id, video_ids, seed)
    for _ in range(visits):
        sample.add(session.visit())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def describe(visits: list[Visit]) -> str:
    times = [v.seconds * 1000 for v in visits]
    return f"n={len(times):4d}  p50 {percentile(times, 50):7.0f} ms  p95 {percentile(times, 95):7.0f} ms"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--jobs", type=int, default=300)
    p.add_argument("--videos", type=int, default=30)
    p.add_argument("--words", type=int, default=30000, help="words of the generated script")
    p.add_argument("--workers", type=int, default=2, help="`python -m core worker` processes")
    p.add_argument("--worker-concurrency", type=int, default=2, help="jobs at once per worker process")
    p.add_argument("--worker-nice", type=int, default=10,
                   help="niceness of the worker processes (renders yield the CPU to the studio; 0 = equal)")
    p.add_argument("--think", type=float, default=3.0,
                   help="mean pause between a session's page opens, seconds (0: back-to-back clicking)")
    p.add_argument("--min-visits", type=int, default=3, help="page opens per session at least")
    p.add_argument("--idle-visits", type=int, default=40, help="idle page opens, before and after the load each")
    p.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    a = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="cvs-load-"))
    db_url = a.db or f"sqlite:///{tmp / 'studio.db'}"
    env = {**os.environ, "STUDIO_DATA_DIR": str(tmp / "data"), "DATABASE_URL": db_url,
           "STUDIO_BACKGROUND_WORKER": "0", "REFINER": "offline", "RENDERER": "offline",
           "PYTHONPATH": str(ROOT)}
    for key in ("OPENAI_API_KEY", "HF_KEY", "HF_API_KEY", "HF_API_SECRET"):
        env.pop(key, None)
    os.environ.clear()
    os.environ.update(env)  # the studio under test reads its settings from the environment, like `streamlit run`

    from core.runtime import open_runtime
    from core.settings import load_settings

    rt = open_runtime(load_settings(secrets_file=tmp / "no-secrets.toml"))
    share_one_streamlit_runtime()
    began = time.perf_counter()
    file_id, video_ids, frame_ids = build_script(rt, words=a.words, videos=a.videos)
    print(f"script: {len(video_ids)} videos, {len(frame_ids)} frames refined "
          f"({time.perf_counter() - began:.1f} s to ingest and refine); db {db_url.split(':', 1)[0]}")

    warm = Session(file_id, video_ids, seed=0)  # warm-up: imports, compiled pages, the cached runtime
    for page in PAGES:
        warm.visit(page)
    idle_before, idle_after, load = Sample(), Sample(), Sample()
    idle_run(file_id, video_ids, a.idle_visits, 1, idle_before)

    ids = queue_jobs(rt, frame_ids, a.jobs)
    stop = threading.Event()
    errors: list[str] = []
    opened = threading.Barrier(a.sessions + 1)

    def browse(n: int) -> None:
        try:
            session = Session(file_id, video_ids, seed=100 + n)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(f"session {n} did not open: {err}")
            opened.abort()
            return
        opened.wait()
        done = 0
        while not stop.is_set() or done < a.min_visits:
            if a.think:
                time.sleep(session.rng.uniform(0, 2 * a.think))
            load.add(session.visit())
            done += 1

    threads = [threading.Thread(target=browse, args=(n,), daemon=True) for n in range(a.sessions)]
    for t in threads:
        t.start()
    try:
        opened.wait()  # every tab open before the clock starts
    except threading.BrokenBarrierError:
        raise SystemExit("; ".join(errors)) from None
    with workers(a.workers, a.worker_concurrency, env, tmp, nice=a.worker_nice) as procs:
        t0 = time.perf_counter()
        while unfinished(rt, ids):
            if all(p.poll() is not None for p in procs):
                break  # the workers gave up; reported below
            time.sleep(0.2)
        jobs_wall = time.perf_counter() - t0
        stop.set()
        t_end = t0 + jobs_wall
        for t in threads:
            t.join()
    idle_run(file_id, video_ids, a.idle_visits, 2, idle_after)

    idle = idle_before.visits + idle_after.visits
    under = [v for v in load.visits if t0 <= v.started < t_end]
    failed = [v for v in idle + load.visits if v.failed]
    statuses = job_statuses(rt, ids)
    print(f"\nload: {a.sessions} sessions (AppTest threads, think {a.think:g} s), {a.workers} worker process(es) × "
          f"concurrency {a.worker_concurrency}")
    print(f"jobs: {len(ids)} offline images in {jobs_wall:.1f} s = {len(ids) / jobs_wall:.1f} jobs/s; "
          f"statuses {statuses}")
    print(f"\n{'page':<11} {'idle':<42} under load")
    for page in PAGES:
        print(f"{page:<11} {describe([v for v in idle if v.page == page]):<42} "
              f"{describe([v for v in under if v.page == page])}")
    print(f"{'all':<11} {describe(idle):<42} {describe(under)}")
    print(f"idle before the jobs: {describe(idle_before.visits)}; after: {describe(idle_after.visits)}")
    idle_p95 = percentile([v.seconds for v in idle], 95)
    load_p95 = percentile([v.seconds for v in under], 95)
    ratio = load_p95 / idle_p95
    print(f"\np95 under load / idle p95 = {ratio:.2f}× (target ≤ {TARGET_RATIO:g}×); "
          f"p50 ratio {percentile([v.seconds for v in under], 50) / percentile([v.seconds for v in idle], 50):.2f}×")
    if failed:
        print(f"{len(failed)} page run(s) failed, e.g. {failed[0].page}: {failed[0].failed}")
    if statuses.get("succeeded", 0) != len(ids):
        print(f"not every job succeeded: {statuses}; worker logs in {tmp}")
    rt.engine.dispose()
    passed = ratio <= TARGET_RATIO and not failed and statuses.get("succeeded", 0) == len(ids)
    if passed:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"data dir, database and worker logs kept in {tmp}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
