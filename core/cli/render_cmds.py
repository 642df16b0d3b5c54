"""`python -m core render images|clip`, `python -m core jobs`, `python -m core worker`.

`render …` only queues jobs (printing them as JSON, with what they cost); a worker renders them: the one inside
the studio, or `python -m core worker [--drain]` (add `--wait` to `render` to drain here and now).
`render … --estimate` runs the same request without queuing anything (`core.jobs.quote_*`) and prints what it
would queue, its price and the budget's answer: the same numbers the request then queues and pays, and the same
refusal (exit 1) when the budget would not admit it whole.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from core.db import session_scope
from core.errors import ValidationError
from core.jobs import (
    RenderBatch,
    Worker,
    job_summary,
    list_jobs,
    quote_clip,
    quote_image,
    quote_video_clips,
    quote_video_images,
    request_clip,
    request_image,
    request_video_clips,
    request_video_images,
)
from core.jobs.takes import source_file_of
from core.models import JOB_STATUSES, Job
from core.money import Quote, quote_jobs
from core.runtime import Runtime, open_runtime


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    render = sub.add_parser("render", help="queue image or clip renders")
    rsub = render.add_subparsers(dest="render_what", required=True)

    images = rsub.add_parser("images", help="render frame images")
    target = images.add_mutually_exclusive_group(required=True)
    target.add_argument("--video", type=int, help="every frame of this video's current storyboard")
    target.add_argument("--frame", type=int, help="one frame")
    _common(images)
    images.set_defaults(handler=_render_images)

    clip = rsub.add_parser("clip", help="render shot clips (missing images are queued first)")
    target = clip.add_mutually_exclusive_group(required=True)
    target.add_argument("--shot", type=int, help="one shot")
    target.add_argument("--video", type=int, help="every shot of this video")
    _common(clip)
    clip.set_defaults(handler=_render_clips)

    jobs = sub.add_parser("jobs", help="list render jobs as JSON")
    jobs.add_argument("--status", choices=JOB_STATUSES)
    jobs.add_argument("--limit", type=int, default=200)
    jobs.set_defaults(handler=_jobs)

    worker = sub.add_parser("worker", help="run a render worker")
    worker.add_argument("--drain", action="store_true", help="exit 0 once nothing is pending or running")
    worker.add_argument("--concurrency", type=int, default=None, help="jobs at once per provider")
    worker.set_defaults(handler=_worker)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=("offline", "higgs"), default=None,
                   help="default: higgs when a key is configured, else offline")
    p.add_argument("--force", action="store_true", help="render again even if a take exists (re-roll)")
    p.add_argument("--actor", default="", help="who asked (for the activity log)")
    p.add_argument("--wait", action="store_true", help="run a worker here until the queue is empty")
    p.add_argument("--estimate", action="store_true", help="only print what it would cost; queue nothing")


def _estimate_only(rt: Runtime, args: argparse.Namespace, *, clips: bool) -> int:
    """What the same command would queue and cost, without queuing anything; exit 1 when the budget would refuse
    it (as the command itself would)."""
    options: dict[str, Any] = {"settings": rt.settings, "provider": args.provider, "force": args.force}
    with rt.sessions() as s:
        if args.video is not None:
            quote = (quote_video_clips if clips else quote_video_images)(s, args.video, **options)
        elif clips:
            quote = quote_clip(s, args.shot, **options)
        else:
            quote = quote_image(s, args.frame, **options)
        s.rollback()
    _print(_quote_json(quote))
    return 0 if quote.admission.admitted else 1


def _quote_json(quote: Quote) -> dict[str, Any]:
    return {"estimate": quote.summary(), "usd": quote.total_usd, "credits": quote.credits, "images": quote.images,
            "clips": quote.clips, "priced_from": quote.source, "unchanged": quote.existing,
            "skipped": {str(k): v for k, v in quote.skipped.items()},
            "budget": {"admitted": quote.admission.admitted, "level": quote.admission.level,
                       "reason": quote.admission.reason}}


def _render_images(args: argparse.Namespace) -> int:
    rt = open_runtime()
    if args.estimate:
        return _estimate_only(rt, args, clips=False)
    with session_scope(rt.sessions) as s:
        batch = _request(s, rt, args, args.frame, request_image, request_video_images)
        ids = [j.id for j in batch.jobs]
        summary = _paid(s, batch, frame_id=args.frame, video_id=args.video)
    return _queued(rt, ids, batch.skipped, summary, wait=args.wait)


def _render_clips(args: argparse.Namespace) -> int:
    rt = open_runtime()
    if args.estimate:
        return _estimate_only(rt, args, clips=True)
    with session_scope(rt.sessions) as s:
        batch = _request(s, rt, args, args.shot, request_clip, request_video_clips)
        ids = sorted({d for j in batch.jobs for d in (j.depends_on or [])} | {j.id for j in batch.jobs})
        summary = _paid(s, batch, shot_id=args.shot, video_id=args.video)
    return _queued(rt, ids, batch.skipped, summary, wait=args.wait)


def _paid(s: Session, batch: RenderBatch, *, video_id: int | None, frame_id: int | None = None,
          shot_id: int | None = None) -> str:
    """The price of the jobs this request newly queued (in-flight and reused ones cost nothing more), by the same
    rule its `--estimate` used."""
    from core.models import Video

    video = s.get(Video, video_id) if video_id is not None else None
    file_id = video.source_file_id if video is not None else source_file_of(s, frame_id=frame_id, shot_id=shot_id)
    return quote_jobs(s, file_id, batch.new_jobs).summary()


def _request(s: Session, rt: Runtime, args: argparse.Namespace, one_id: int | None,
             request_one: Callable[..., Job], request_video: Callable[..., RenderBatch]) -> RenderBatch:
    """The jobs for one frame / shot (`one_id`), else for the whole `--video`, and what was skipped and why."""
    options: dict[str, Any] = {"settings": rt.settings, "provider": args.provider, "force": args.force,
                               "actor": args.actor or rt.settings.author_name}
    if one_id is not None:
        batch = RenderBatch()
        batch.jobs.append(request_one(s, one_id, into=batch, **options))
        return batch
    return request_video(s, args.video, **options)


def _queued(rt: Runtime, ids: list[int], skipped: dict[int, str], estimate: str, *, wait: bool) -> int:
    if wait and ids:
        Worker(rt).run(drain=True)
    with rt.sessions() as s:
        jobs = [job_summary(j) for i in ids if (j := s.get(Job, i)) is not None]
    _print({"estimate": estimate, "jobs": jobs, "skipped": {str(k): v for k, v in skipped.items()}})
    return 1 if wait and any(j["status"] == "failed" for j in jobs) else 0


def _jobs(args: argparse.Namespace) -> int:
    rt = open_runtime()
    if args.limit < 1:
        raise ValidationError("--limit must be at least 1")
    with rt.sessions() as s:
        _print([job_summary(j) for j in list_jobs(s, args.status, limit=args.limit)])
    return 0


def _worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = open_runtime()
    stop = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        stop.set()  # hand jobs back (leases released) and exit

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = Worker(rt, concurrency=args.concurrency)
    done = worker.run(drain=args.drain, stop_event=stop)
    print(json.dumps({"worker": worker.worker_id, "finished_jobs": done}), file=sys.stderr)
    return 0


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))
