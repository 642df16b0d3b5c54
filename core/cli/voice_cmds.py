"""`python -m core voice (--shot S | --video V | --file F) [--provider offline|openai] [--force] [--estimate]`.

Queues narration jobs (printing them as JSON with the estimate); a worker speaks them — the studio's, or
`python -m core worker`, or this command itself with `--wait`. `--shot S --takes` lists a shot's narration takes
(newest first) and `--select TAKE` makes one of them the shot's, as "Use this take" does in the studio.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy import select

from core.db import session_scope
from core.errors import ValidationError
from core.jobs import Worker, job_summary, list_takes, select_take
from core.jobs.voice import estimate_voices, request_voice, request_voices
from core.models import Asset, Job, Shot
from core.runtime import Runtime, open_runtime


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("voice", help="queue narration audio for shots (voice-over)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--shot", type=int, help="one shot")
    target.add_argument("--video", type=int, help="every shot of this video's current storyboard")
    target.add_argument("--file", type=int, help="every shot of every video of this script")
    target.add_argument("--select", type=int, metavar="TAKE",
                        help="make this narration take its shot's (the ids are in --shot S --takes)")
    p.add_argument("--provider", choices=("offline", "openai"), default=None,
                   help="default: the style bible's voice, else openai when a key is configured, else offline")
    p.add_argument("--force", action="store_true", help="voice again even if current audio exists (re-voice)")
    p.add_argument("--estimate", action="store_true", help="only print what it would cost; queue nothing")
    p.add_argument("--takes", action="store_true", help="with --shot: list its narration takes; queue nothing")
    p.add_argument("--wait", action="store_true", help="run a worker here until the queue is empty")
    p.add_argument("--actor", default="", help="who asked (for the activity log)")
    p.set_defaults(handler=_voice)


def _voice(args: argparse.Namespace) -> int:
    rt = open_runtime()
    if args.select is not None or args.takes:
        return _takes(rt, args)
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


def _takes(rt: Runtime, args: argparse.Namespace) -> int:
    with session_scope(rt.sessions) as s:
        if args.select is not None:
            asset = s.get(Asset, args.select)
            if asset is not None and asset.kind != "voice":
                raise ValidationError(f"Take {args.select} is not narration audio (it is a {asset.kind} take)")
            take = select_take(s, args.select, actor=args.actor or rt.settings.author_name)
            _print({"selected": take.id, "shot": take.shot_id})
            return 0
        if args.shot is None:
            raise ValidationError("--takes lists one shot's narration takes: give --shot S")
        takes = list_takes(s, shot_id=args.shot, kind="voice")
        selected = s.scalar(select(Shot.selected_voice_id).where(Shot.id == args.shot))
        rows = []
        for take in takes:
            job = s.get(Job, take.job_id) if take.job_id is not None else None
            rows.append({"take": take.id, "selected": take.id == selected, "created_at": take.created_at.isoformat(),
                         "provider": (take.provider or "").removeprefix("voice-"), "model": take.model,
                         "voice": (job.params or {}).get("voice") if job is not None else None,
                         "duration_s": take.duration_s})
    _print({"shot": args.shot, "takes": rows})
    return 0


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))
