"""Benchmark: plan a 30-video script against the local OpenAI-compatible server (200 ms per request), concurrency 8.

The ideal is ceil(videos / concurrency) × latency: the provider's latency is the only unavoidable cost, so the
ratio measures what building the requests, the SDK, validation and storing each plan as a new storyboard version
add. Target: ≤ 1.15× on a temp SQLite DB. The server runs in its own process (tests/fakes/openai_server.py), as a
remote provider would. The script is a generated Arabic course: each video has 12 to 30 sentences and directions.

A process pays the SDK's and SQLAlchemy's first-use costs once (lazy imports, compiled statements: ~0.15 s, a fifth
of this ideal); the studio has paid them by the time a producer clicks "Plan with AI". So the benchmark first plans
a one-video script untimed, then times `--rounds` plans of the 30-video script (each from its offline board, so
every round sends every video) and reports the median, with the cold first round beside it.

    PYTHONPATH=. .venv/bin/python bench/plan.py [--videos 30] [--concurrency 8] [--latency 0.2] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.prompts import fake_server
from core.db import session_scope
from core.library import ingest_file
from core.planner.batch import plan_videos
from core.planner.openai_planner import OpenAIPlanner
from core.prompts.openai_refiner import RetryPolicy
from core.runtime import open_runtime
from core.settings import load_settings
from tests.core.docx_factory import make_docx

SENTENCES = (
    "في هذا الدرس نتعرف على أساسيات الموضوع خطوة بخطوة.", "نبدأ بتعريف المفهوم الأساسي وأهميته في حياتنا.",
    "ثم نرى مثالاً عملياً من الواقع.", "لاحظ كيف تتغير النتيجة عندما نغير المدخلات؟",
    "هذه الفكرة تتكرر في كل الدروس القادمة.", "والآن ننتقل إلى التطبيق العملي على الحاسوب.",
)


def script(videos: int, *, salt: int = 0) -> bytes:
    blocks: list[tuple[str, str]] = [("para", f"مقدمة الدورة {salt}.")]
    for v in range(1, videos + 1):
        blocks.append(("heading", f"الفيديو {v}: الدرس رقم {v}"))
        blocks.append(("para", "المشهد: المدرب يقف أمام السبورة في الاستوديو."))
        count = 12 + (v * 7) % 19
        text = " ".join(f"{SENTENCES[(v + i) % len(SENTENCES)][:-1]} ({v}.{i}){SENTENCES[(v + i) % 6][-1]}"
                        for i in range(count))
        blocks.append(("para", text))
        blocks.append(("para", "[Visual: screen recording, zoom on the terminal]"))
    return make_docx(blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--videos", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument("--target", type=float, default=1.15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    walls: list[float] = []
    cold = cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        env = {"STUDIO_DATA_DIR": str(Path(tmp) / "data")}
        if args.db:
            env["DATABASE_URL"] = args.db
        runtime = open_runtime(load_settings(env, secrets_file=Path(tmp) / "none.toml"))
        with fake_server(args.latency) as base_url:
            planner = OpenAIPlanner(api_key="sk-bench-not-a-real-key", model="gpt-4o-mini", base_url=base_url,
                                    timeout_s=10, retry=RetryPolicy(max_attempts=2, base_delay=0.05))
            for n in range(args.rounds + 1):
                with session_scope(runtime.sessions) as session:
                    video_ids = list(ingest_file(session, script(1 if n == 0 else args.videos, salt=n),
                                                 f"bench{n}.docx", settings=runtime.settings).video_ids)
                started, cpu_started = time.perf_counter(), time.process_time()
                summary = plan_videos(runtime.sessions, video_ids, planner, concurrency=args.concurrency)
                wall = time.perf_counter() - started
                if n == 0:
                    cold = wall
                    continue
                walls.append(wall)
                cpu += time.process_time() - cpu_started
                if summary.fell_back:
                    break
            planner.close()
        runtime.engine.dispose()

    wall = statistics.median(walls)
    cpu /= max(1, len(walls))
    ideal = math.ceil(len(video_ids) / args.concurrency) * args.latency
    ratio = wall / ideal if ideal else float("nan")
    report = {
        "videos": len(video_ids), "concurrency": args.concurrency, "latency_s": args.latency,
        "planned": summary.planned, "fell_back": summary.fell_back, "reasons": summary.reasons,
        "walls_s": [round(w, 3) for w in walls], "wall_s": round(wall, 3), "warm_up_1_video_s": round(cold, 3),
        "cpu_s": round(cpu, 3), "ideal_s": round(ideal, 3), "ratio": round(ratio, 3), "target": args.target,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"wall {wall:.2f} s, ideal {ideal:.2f} s, ratio {ratio:.3f}× (target ≤ {args.target}×); "
          f"client CPU {cpu:.2f} s ({cpu / max(1, len(video_ids)) * 1000:.1f} ms per video)")
    return 0 if summary.fell_back == 0 and ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
