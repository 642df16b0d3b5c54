"""`python -m core plan (--video V | --file F) [--provider offline|openai] [--estimate] [--force]`.

Plans a video, or every video of a script, into shots (a new storyboard version each) and prints JSON: how many
were planned, reused (inputs unchanged) or fell back (kept their storyboard), with the reasons. `--estimate` prints
the price (tokens × rate) and the budget's verdict without sending anything. Exit code 1 when any video fell back.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.db import session_scope
from core.planner.batch import admission_for, plan_videos, videos_in_scope
from core.planner.providers import PLANNERS, make_planner
from core.runtime import open_runtime


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _plan(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    settings = runtime.settings
    planner = make_planner(settings, args.provider)
    try:
        with session_scope(runtime.sessions) as session:
            ids = videos_in_scope(session, file_id=args.file, video_id=args.video)
            if args.estimate:
                est, verdict = admission_for(session, ids, planner, force=args.force,
                                             wpm=settings.speaking_rate_wpm)
                _print_json({"provider": planner.name, "model": planner.model, "estimate": est.to_json(),
                             "admitted": verdict.admitted, "level": verdict.level, "message": verdict.reason})
                return 0
        show_progress = sys.stderr.isatty()

        def progress(done: int, total: int, video_id: int, outcome: str) -> None:
            if show_progress:
                print(f"[{done}/{total}] video {video_id}: {outcome}", file=sys.stderr, flush=True)

        summary = plan_videos(runtime.sessions, ids, planner, concurrency=args.concurrency or
                              settings.refine_concurrency, force=args.force, progress=progress,
                              actor=settings.author_name, wpm=settings.speaking_rate_wpm)
        _print_json(summary.to_json())
        return 1 if summary.fell_back else 0
    finally:
        close = getattr(planner, "close", None)
        if callable(close):
            close()
        runtime.engine.dispose()


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("plan", help="plan videos into shots (offline or with an AI director)")
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--video", type=int, help="video id")
    scope.add_argument("--file", type=int, help="source file (script) id: every video")
    parser.add_argument("--provider", choices=PLANNERS, help="default: openai when a key is set, else offline")
    parser.add_argument("--estimate", action="store_true", help="print the price and the budget's verdict only")
    parser.add_argument("--force", action="store_true", help="plan again even when the inputs did not change")
    parser.add_argument("--concurrency", type=int, default=None, help="default: REFINE_CONCURRENCY")
    parser.set_defaults(handler=_plan)
