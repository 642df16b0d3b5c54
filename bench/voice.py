"""Benchmark: voice 120 shots against the local OpenAI-compatible server (1 s per request), 8 at a time.

    PYTHONPATH=. .venv/bin/python bench/voice.py [--shots 120] [--latency 1.0] [--concurrency 8] [--db URL]

The whole path a producer's "Voice all" takes: `request_voices` queues a `voice` job per shot (estimate, budget
gate, one transaction), then a `Worker` with 8 voice slots claims them, calls `audio.speech` over real HTTP
(the fake server in tests/fakes answers each request after `--latency` seconds with a WAV as long as the text
takes to say), checks and normalises each take, stores it and selects it. The ideal is ceil(shots / concurrency)
× latency — the server's time alone; the printed ratio is the measured wall clock over that. Target ≤ 1.15×.
Exit status 1 when the ratio misses it or a job did not succeed.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import func, select

from bench.prompts import fake_server
from core.db import session_scope
from core.jobs import Worker
from core.jobs.voice import request_voices
from core.models import Job, Shot
from core.render.providers import make_providers
from core.runtime import open_runtime
from core.settings import load_settings
from tests.core.jobs_factory import make_board


SENTENCES = ("نتعلم اليوم كيف نرتب البيانات في جدول واحد.", "ثم نرسم منها شكلاً بيانياً واضحاً في Excel.",
             "ونراجع في الختام ما تعلمناه معاً خطوة بخطوة.")
TARGET = 1.15


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=120)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, fake_server(args.latency) as base_url:
        data = Path(tmp) / "data"
        env = {"STUDIO_DATA_DIR": str(data), "VOICE_PROVIDER": "openai"}
        if args.db:
            env["DATABASE_URL"] = args.db
        settings = load_settings(env, secrets_file=Path(tmp) / "none.toml", openai_base_url=base_url,
                                 openai_api_key=SecretStr("sk-bench"), voice_concurrency=args.concurrency)
        rt = open_runtime(settings)
        with session_scope(rt.sessions) as s:
            board = make_board(s, shots=args.shots, frames=1, prompts=False)
            for n, shot_id in enumerate(board.shot_ids):
                s.get(Shot, shot_id).narration_text = " ".join(SENTENCES[: 1 + n % 3])  # type: ignore[union-attr]
        worker = Worker(rt, providers=make_providers(settings, rt.assets), concurrency=args.concurrency)
        # One untimed round trip first (imports, the first connection), as the other benchmarks warm up.
        worker.providers["voice-openai"].voice.synthesize("Warm up.", voice="alloy", speed=1.0)  # type: ignore[attr-defined]
        start, cpu = time.perf_counter(), time.process_time()
        with session_scope(rt.sessions) as s:
            queued = len(request_voices(s, video_id=board.video_id, settings=settings).jobs)
        worker.run(drain=True)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        with rt.sessions() as s:
            done = s.scalar(select(func.count(Job.id)).where(Job.kind == "voice", Job.status == "succeeded")) or 0
            selected = s.scalar(select(func.count(Shot.id)).where(Shot.selected_voice_id.is_not(None))) or 0
        rt.engine.dispose()
    ideal = math.ceil(args.shots / args.concurrency) * args.latency
    ratio = elapsed / ideal
    print(f"voiced {done}/{queued} shots ({selected} selected) with {args.concurrency} at a time, "
          f"{args.latency:g} s per request: {elapsed:.2f} s; ideal {ideal:.2f} s; ratio {ratio:.3f}x "
          f"(target <= {TARGET}x); this process used {cpu:.2f} s of CPU ({1000 * cpu / max(1, done):.0f} ms a shot)")
    return 0 if ratio <= TARGET and done == queued == args.shots else 1


if __name__ == "__main__":
    sys.exit(main())
