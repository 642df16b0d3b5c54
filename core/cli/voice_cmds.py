"""`python -m core voice (--shot S | --video V | --file F) [--provider offline|openai] [--force] [--estimate]`.

Queues narration jobs (printing them as JSON with the estimate); a worker speaks them — the studio's, or
`python -m core worker`, or this command itself with `--wait`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.db import session_scope
from core.jobs import Worker, job_summary
from core.jobs.voice import estimate_voices, request_voice, request_voices
from core.models import Job
from core.runtime import open_runtime


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("voice", help="queue narration audio for shots (voice-over)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--shot", type=int, help="one shot")
    target.add_argument("--video", type=int, help="every shot of this video's current storyboard")
    target.add_argument("--file", type=int, help="every shot of every video of this script")
    p.add_argument("--provider", choices=("offline", "openai"), default=None,
                   help="default: the style bible's voice, else openai when a key is configured, else offline")
    p.add_argument("--force", action="store_true", help="voice again even if current audio exists (re-voice)")
    p.add_argument("--estimate", action="store_true", help="only print what it would cost; queue nothing")
    p.add_argument("--wait", action="store_true", help="run a worker here until the queue is empty")
    p.add_argument("--actor", default="", help="who asked (for the activity log)")
    p.set_defaults(handler=_voice)


def _voice(args: argparse.Namespace) -> int:
    rt = open_runtime()
    scope: dict[str, Any] = {"shot_id": args.shot, "video_id": args.video, "file_id": args.file}
    with session_scope(rt.sessions) as s:
        est = estimate_voices(s, **scope, settings=rt.settings, provider=args.provider, force=args.force)
        if args.estimate:
            _print({"estimate": est.summary(), "usd": est.usd, "shots": est.shots, "characters": est.characters,
                    "skipped": {str(k): v for k, v in est.skipped.items()}})
            return 0
        options: dict[str, Any] = {"settings": rt.settings, "provider": args.provider, "force": args.force,
                                   "actor": args.actor or rt.settings.author_name}
        if args.shot is not None:
            jobs, skipped = [request_voice(s, args.shot, **options)], {}
        else:
            batch = request_voices(s, video_id=args.video, file_id=args.file, **options)
            jobs, skipped = batch.jobs, batch.skipped
        ids = [j.id for j in jobs]
    if args.wait and ids:
        Worker(rt).run(drain=True)
    with rt.sessions() as s:
        summaries = [job_summary(j) for i in ids if (j := s.get(Job, i)) is not None]
    _print({"estimate": est.summary(), "jobs": summaries, "skipped": {str(k): v for k, v in skipped.items()}})
    return 1 if args.wait and any(j["status"] == "failed" for j in summaries) else 0


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))
