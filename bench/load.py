"""Benchmark: 20 concurrent studio sessions browse a 30-video script while workers run 300 offline jobs.

    PYTHONPATH=. .venv/bin/python bench/load.py [--sessions 20] [--jobs 300] [--rounds 3] [--videos 30] [--workers 2]
        [--think 3] [--worker-nice 10] [--idle-visits 60] [--no-media] [--db URL] [--keep]

The studio runs as deployed: `streamlit run studio/app.py` in its own process (the repository's
`.streamlit/config.toml`, a temp data dir and database, offline providers, no embedded worker). The sessions
are browser tabs without a browser (bench/studio_client.py), all in one separate asyncio process so that
driving them takes nothing from the studio's interpreter: each speaks Streamlit's websocket protocol as the
frontend does, opens `/?script=..&video=..`, then keeps opening Library, Storyboard, Prompts, Images or Jobs
from the navigation or picking another video in the sidebar, pausing `--think` seconds on average between steps
(a producer reads the page), fetching the images a page shows and rerunning the fragments the server asked to
auto-rerun (the Images and Jobs pages poll the job table every 2 s and redraw when it changed), while the
workers render a batch of `--jobs` offline images, `--rounds` batches one after the other (later batches re-roll
frames). One batch takes about 20 s, about 100 page runs: too few for a steady p95, so the page runs under load
are pooled over the batches (each batch's own p95 ratio is printed too). A page run is one step: from the click (the rerun message leaving the tab, after any refresh in
flight) to the server's `script_finished`, i.e. the time the producer waits for the page to be drawn; it fails
on an abnormal finish, an exception or an error alert on the page. Refreshes are load, not page runs: counted,
and failed ones fail the bench.
The jobs run in `python -m core worker` subprocesses, as deployed; on a shared machine they run niced
(`--worker-nice`) so renders yield the CPU to the studio. Idle runs are the same steps from one tab with no
other tab and no job running, measured before the jobs are queued (empty Jobs page, no images) and after they
finished (300 images, a full Jobs page), pooled, so the idle baseline spans the content the load run sees.

Printed: p50 / p95 page run time idle and under load, per page and overall, their ratio (pooled and per batch),
and the jobs' throughput. Target: p95 under load ≤ 3 × idle p95. Exit status 1 when missed or when any page run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bench.studio_client import PAGES, Step
from tests.e2e.harness import running_studio

if TYPE_CHECKING:
    from core.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "studio" / "app.py"
TARGET_RATIO = 3.0


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


def queue_jobs(rt: Runtime, frame_ids: list[int], jobs: int, *, batch: int = 0) -> list[int]:
    """`jobs` image jobs on frames picked at random; batches after the first re-roll frames already rendered."""
    from core.db import session_scope
    from core.jobs import request_image

    if jobs > len(frame_ids):
        raise SystemExit(f"--jobs {jobs} needs that many frames; the script has {len(frame_ids)}")
    picked = random.Random(3 + batch).sample(frame_ids, jobs)
    with session_scope(rt.sessions) as s:
        return [request_image(s, fid, settings=rt.settings, provider="offline", force=batch > 0,
                              actor="bench").id for fid in picked]


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
            nice: int = 0, tag: str = "") -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    for i in range(n):
        log = open(log_dir / f"worker-{tag}{i}.log", "wb")  # noqa: SIM115 - closed with the process below
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


def tabs(url: str, file_id: int, video_id: int, out: Path, *, sessions: int, think: float, seed: int,
         visits: int = 0, min_visits: int = 3, warm: bool = False, media: bool = True) -> subprocess.Popen[str]:
    """The client process (bench/studio_client.py); it prints `ready` once its tabs are open."""
    cmd = [sys.executable, "-m", "bench.studio_client", "--url", url, "--script", str(file_id),
           "--video", str(video_id), "--sessions", str(sessions), "--think", str(think), "--seed", str(seed),
           "--visits", str(visits), "--min-visits", str(min_visits), "--out", str(out)]
    cmd += ["--warm"] if warm else []
    cmd += [] if media else ["--no-media"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.wait()
        raise SystemExit(f"the tabs did not open: {line or 'client exited ' + str(proc.returncode)}")
    return proc


def collect(proc: subprocess.Popen[str], out: Path) -> tuple[list[Step], float]:
    """The steps a client process took, and the CPU share of one core it used while it ran."""
    if proc.wait() != 0:
        raise SystemExit(f"the client process exited with {proc.returncode}")
    data = json.loads(out.read_text())
    return [Step(**row) for row in data["steps"]], data["cpu_seconds"] / max(data["wall_seconds"], 1e-9)


def idle_run(url: str, file_id: int, video_id: int, visits: int, think: float, seed: int, out: Path, *,
             media: bool) -> list[Step]:
    """One tab, nothing else running: `visits` steps after a first drawing of every page."""
    return collect(tabs(url, file_id, video_id, out, sessions=1, think=think, seed=seed, visits=visits,
                        warm=True, media=media), out)[0]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def describe(steps: list[Step]) -> str:
    times = [v.seconds * 1000 for v in steps]
    return f"n={len(times):4d}  p50 {percentile(times, 50):7.0f} ms  p95 {percentile(times, 95):7.0f} ms"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--jobs", type=int, default=300, help="offline image jobs per batch")
    p.add_argument("--rounds", type=int, default=3,
                   help="batches of --jobs, one after the other while the tabs browse: the page runs under load "
                        "are pooled over them (one batch renders in ~20 s, ~100 page runs: too few for a p95)")
    p.add_argument("--videos", type=int, default=30)
    p.add_argument("--words", type=int, default=30000, help="words of the generated script")
    p.add_argument("--workers", type=int, default=2, help="`python -m core worker` processes")
    p.add_argument("--worker-concurrency", type=int, default=2, help="jobs at once per worker process")
    p.add_argument("--worker-nice", type=int, default=10,
                   help="niceness of the worker processes (renders yield the CPU to the studio; 0 = equal)")
    p.add_argument("--think", type=float, default=3.0,
                   help="mean pause between a tab's page runs, seconds (0: back-to-back clicking)")
    p.add_argument("--min-visits", type=int, default=3, help="page runs per tab at least")
    p.add_argument("--idle-visits", type=int, default=60, help="idle page runs, before and after the load each")
    p.add_argument("--idle-think", type=float, default=0.25,
                   help="mean pause between idle page runs, seconds (lets the previous run's tail settle)")
    p.add_argument("--no-media", dest="media", action="store_false",
                   help="tabs do not fetch the images pages show (a browser does)")
    p.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temp dir (data, logs, every step's timing as JSON) even when the target is met")
    a = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="cvs-load-"))
    db_url = a.db or f"sqlite:///{tmp / 'studio.db'}"
    env = {**os.environ, "STUDIO_DATA_DIR": str(tmp / "data"), "DATABASE_URL": db_url,
           "STUDIO_BACKGROUND_WORKER": "0", "REFINER": "offline", "RENDERER": "offline",
           "PYTHONPATH": str(ROOT)}
    for key in ("OPENAI_API_KEY", "HF_KEY", "HF_API_KEY", "HF_API_SECRET"):
        env.pop(key, None)
    os.environ.clear()
    os.environ.update(env)  # this process prepares the data with the studio's settings

    from core.runtime import open_runtime
    from core.settings import load_settings

    rt = open_runtime(load_settings(secrets_file=tmp / "no-secrets.toml"))
    began = time.perf_counter()
    file_id, video_ids, frame_ids = build_script(rt, words=a.words, videos=a.videos)
    print(f"script: {len(video_ids)} videos, {len(frame_ids)} frames refined "
          f"({time.perf_counter() - began:.1f} s to ingest and refine); db {db_url.split(':', 1)[0]}")

    with running_studio(env, cwd=ROOT, log=tmp / "studio.log") as url:  # as the browser tests start it
        first = video_ids[0]
        idle_before = idle_run(url, file_id, first, a.idle_visits, a.idle_think, 1, tmp / "idle-before.json",
                               media=a.media)
        browsing = tabs(url, file_id, first, tmp / "load.json", sessions=a.sessions, think=a.think, seed=100,
                        min_visits=a.min_visits, media=a.media)  # every tab open before the clock starts
        assert browsing.stdin is not None
        ids: list[int] = []
        windows: list[tuple[float, float, int]] = []  # (start, end, jobs) of each batch
        for batch in range(a.rounds):
            batch_ids = queue_jobs(rt, frame_ids, a.jobs, batch=batch)
            ids += batch_ids
            with workers(a.workers, a.worker_concurrency, env, tmp, nice=a.worker_nice,
                         tag=f"batch{batch + 1}-") as procs:
                t0 = time.monotonic()
                while unfinished(rt, batch_ids):
                    if all(p.poll() is not None for p in procs):
                        break  # the workers gave up; reported below
                    time.sleep(0.2)
                windows.append((t0, time.monotonic(), len(batch_ids)))
        browsing.stdin.write("stop\n")
        browsing.stdin.close()
        load, client_cpu = collect(browsing, tmp / "load.json")
        jobs_wall = sum(end - start for start, end, _ in windows)
        idle_after = idle_run(url, file_id, first, a.idle_visits, a.idle_think, 2, tmp / "idle-after.json",
                              media=a.media)

    failed = [v for v in idle_before + idle_after + load if v.failed]

    def during(steps: list[Step], window: tuple[float, float, int]) -> list[Step]:
        return [v for v in steps if window[0] <= v.started < window[1]]

    refreshes = [v for w in windows for v in during(load, w) if v.action == "refresh"]
    idle_before, idle_after, load = (
        [v for v in steps if v.action != "refresh"] for steps in (idle_before, idle_after, load))
    idle = idle_before + idle_after
    under = [v for w in windows for v in during(load, w)]
    statuses = job_statuses(rt, ids)
    print(f"\nload: {a.sessions} tabs (websocket clients, think {a.think:g} s, images "
          f"{'fetched' if a.media else 'not fetched'}), {a.workers} worker process(es) × "
          f"concurrency {a.worker_concurrency}, nice {a.worker_nice}; the tabs' process used "
          f"{client_cpu:.0%} of a core; {len(refreshes)} fragment auto-reruns ({len(refreshes) / jobs_wall:.1f}/s) "
          "besides the page runs below")
    print(f"jobs: {len(ids)} offline images in {len(windows)} batch(es) of {a.jobs}, {jobs_wall:.1f} s of rendering "
          f"= {len(ids) / jobs_wall:.1f} jobs/s; statuses {statuses}")
    print(f"\n{'page':<11} {'idle':<42} under load")
    for page in PAGES:
        print(f"{page:<11} {describe([v for v in idle if v.page == page]):<42} "
              f"{describe([v for v in under if v.page == page])}")
    print(f"{'all':<11} {describe(idle):<42} {describe(under)}")
    print(f"idle before the jobs: {describe(idle_before)}; after: {describe(idle_after)}")
    idle_p95 = percentile([v.seconds for v in idle], 95)
    for n, window in enumerate(windows, start=1):
        batch = during(load, window)
        print(f"batch {n}: {window[2]} jobs in {window[1] - window[0]:.1f} s, page runs {describe(batch)}, "
              f"p95 ratio {percentile([v.seconds for v in batch], 95) / idle_p95:.2f}×")
    load_p95 = percentile([v.seconds for v in under], 95)
    ratio = load_p95 / idle_p95
    print(f"\np95 under load / idle p95 = {ratio:.2f}× (target ≤ {TARGET_RATIO:g}×); "
          f"p50 ratio {percentile([v.seconds for v in under], 50) / percentile([v.seconds for v in idle], 50):.2f}×")
    if failed:
        print(f"{len(failed)} page run(s) failed, e.g. {failed[0].page} ({failed[0].action}): {failed[0].failed}")
    if statuses.get("succeeded", 0) != len(ids):
        print(f"not every job succeeded: {statuses}; worker logs in {tmp}")
    rt.engine.dispose()
    passed = ratio <= TARGET_RATIO and not failed and statuses.get("succeeded", 0) == len(ids)
    if passed and not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"data dir, database, studio and worker logs, step timings kept in {tmp}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
