"""Benchmark: refine 360 frames against the local OpenAI-compatible server (200 ms per request), concurrency 8.

The ideal is ceil(frames / concurrency) × latency: the provider's latency is the only unavoidable cost, so
the ratio measures what the store, the SDK and the thread pool add. Target: ≤ 1.15× on a temp SQLite DB.
The server runs in its own process (tests/fakes/openai_server.py), as a remote provider would.

    PYTHONPATH=. .venv/bin/python bench/prompts.py [--frames 360] [--concurrency 8] [--latency 0.2] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.db import session_scope
from core.prompts.batch import refine_frames
from core.prompts.openai_refiner import OpenAIRefiner, RetryPolicy
from core.runtime import open_runtime
from core.settings import load_settings
from tests.core.prompt_fixtures import make_board

SERVER = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "openai_server.py"

SCENES = (
    "يدخل المعلم إلى الفصل ويحيي الطلاب",
    "يكتب المعلم على السبورة عنوان الدرس",
    "يرفع طالب يده ليسأل سؤالاً",
    "نرى خريطة قديمة للمدينة على الطاولة",
    "يمشي الطلاب في ساحة المدرسة",
    "تقترب الكاميرا من كتاب مفتوح",
)


def seed(runtime_sessions: object, frames: int, *, shots: int = 4, per_shot: int = 3) -> list[int]:
    """A script with as many videos (4 shots × 3 frames) as needed for `frames` frames; distinct scene texts."""
    ids: list[int] = []
    per_video = shots * per_shot
    file_id: int | None = None
    with session_scope(runtime_sessions) as session:  # type: ignore[arg-type]
        for v in range(math.ceil(frames / per_video)):
            texts = [[f"{SCENES[(v + s + f) % len(SCENES)]} ({v}.{s}.{f})" for f in range(per_shot)]
                     for s in range(shots)]
            board = make_board(session, texts, video_title=f"الدرس {v + 1}", source_file_id=file_id,
                               video_position=v + 1)
            file_id = board.file_id
            ids.extend(board.frame_ids)
    return ids[:frames]


@contextmanager
def fake_server(latency: float) -> Iterator[str]:
    """The fake OpenAI server in its own process, like a real remote provider: its CPU is not ours."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", str(port), "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "fake OpenAI server on …" once it is listening
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=360)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument("--target", type=float, default=1.15)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-prompts-") as tmp:
        env = {"STUDIO_DATA_DIR": str(Path(tmp) / "data")}
        if args.db:
            env["DATABASE_URL"] = args.db
        runtime = open_runtime(load_settings(env, secrets_file=Path(tmp) / "none.toml"))
        frame_ids = seed(runtime.sessions, args.frames)
        with fake_server(args.latency) as base_url:
            refiner = OpenAIRefiner(api_key="sk-bench-not-a-real-key", model="bench-model",
                                    base_url=base_url, timeout_s=10,
                                    retry=RetryPolicy(max_attempts=2, base_delay=0.05))
            started, cpu_started = time.perf_counter(), time.process_time()
            summary = refine_frames(runtime.sessions, frame_ids, refiner, concurrency=args.concurrency)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            refiner.close()
        runtime.engine.dispose()

    ideal = math.ceil(args.frames / args.concurrency) * args.latency
    ratio = wall / ideal if ideal else float("nan")
    report = {
        "frames": args.frames, "concurrency": args.concurrency, "latency_s": args.latency,
        "refined": summary.refined, "failed": summary.failed,
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "ideal_s": round(ideal, 3), "ratio": round(ratio, 3), "target": args.target,
    }
    print(json.dumps(report, indent=2))
    print(f"wall {wall:.2f} s, ideal {ideal:.2f} s, ratio {ratio:.3f}× (target ≤ {args.target}×); "
          f"client CPU {cpu:.2f} s ({cpu / max(1, args.frames) * 1000:.1f} ms per frame)")
    return 0 if summary.failed == 0 and ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
