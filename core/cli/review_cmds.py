"""Review, budget and rate-card commands.

    review set (--frame ID | --shot ID | --video ID) --status S [--comment TEXT]
                                        move through draft → in_review → approved → locked (or needs_changes, with
                                        a comment); --video moves every live frame of it, all or nothing
    review comments (--frame ID | --shot ID) [--add TEXT]             print the thread (JSON), optionally adding one
    review progress --video ID                                        approval counts of the current storyboard
    budget show --file ID                                             budget, spent, queued, level (JSON)
    budget set --file ID --usd AMOUNT|none
    rates show | rates set MODEL --unit image|clip_second|character --credits N --usd N | rates reset MODEL

The actor is --actor, else the AUTHOR_NAME setting. All honour DATABASE_URL and STUDIO_DATA_DIR.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from core import cost, review
from core.db import session_scope
from core.errors import ValidationError
from core.models import REVIEW_STATUSES
from core.runtime import Runtime, open_runtime


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("review", help="review statuses, comments and approval progress")
    sub = p.add_subparsers(dest="review_command", required=True)
    s = sub.add_parser("set", help="change a frame's or shot's review status")
    _subject_args(s, video=True)
    s.add_argument("--status", required=True, choices=REVIEW_STATUSES)
    s.add_argument("--comment")
    s.add_argument("--actor")
    s.set_defaults(handler=_set)
    c = sub.add_parser("comments", help="print (and optionally add to) a comment thread")
    _subject_args(c)
    c.add_argument("--add", metavar="TEXT")
    c.add_argument("--actor")
    c.set_defaults(handler=_comments)
    g = sub.add_parser("progress", help="approval progress of a video")
    g.add_argument("--video", type=int, required=True)
    g.set_defaults(handler=_progress)

    b = subparsers.add_parser("budget", help="a script's budget and spend")
    bsub = b.add_subparsers(dest="budget_command", required=True)
    bs = bsub.add_parser("show")
    bs.add_argument("--file", type=int, required=True)
    bs.set_defaults(handler=_budget_show)
    bset = bsub.add_parser("set")
    bset.add_argument("--file", type=int, required=True)
    bset.add_argument("--usd", required=True, help="amount in USD, or 'none' to remove the budget")
    bset.add_argument("--actor")
    bset.set_defaults(handler=_budget_set)

    r = subparsers.add_parser("rates", help="the rate card (price per image / per clip second)")
    rsub = r.add_subparsers(dest="rates_command", required=True)
    rsub.add_parser("show").set_defaults(handler=_rates_show)
    rset = rsub.add_parser("set")
    rset.add_argument("model")
    rset.add_argument("--unit", required=True, choices=("image", "clip_second", "character"))
    rset.add_argument("--credits", type=float, required=True)
    rset.add_argument("--usd", type=float, required=True)
    rset.add_argument("--actor")
    rset.set_defaults(handler=_rates_set)
    rreset = rsub.add_parser("reset")
    rreset.add_argument("model")
    rreset.add_argument("--actor")
    rreset.set_defaults(handler=_rates_reset)


def _subject_args(p: argparse.ArgumentParser, *, video: bool = False) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--frame", type=int)
    group.add_argument("--shot", type=int)
    if video:
        group.add_argument("--video", type=int, help="every live frame of the video's current storyboard")


def _subject(args: argparse.Namespace) -> tuple[str, int]:
    return ("frame", args.frame) if args.frame is not None else ("shot", args.shot)


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _actor(args: argparse.Namespace, runtime: Runtime) -> str:
    return getattr(args, "actor", None) or runtime.settings.author_name


def _set(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        if getattr(args, "video", None) is not None:
            with session_scope(runtime.sessions) as session:
                ids = [f.id for f in review.frames_with_status(session, args.video)]
                moved = review.set_status_many(session, "frame", ids, args.status, actor=_actor(args, runtime),
                                               comment=args.comment)
            _print([{"subject": "frame", "id": t.subject_id, "from": t.old, "to": t.new} for t in moved])
            return 0
        kind, sid = _subject(args)
        with session_scope(runtime.sessions) as session:
            t = review.set_status(session, kind, sid, args.status, actor=_actor(args, runtime), comment=args.comment)
        _print({"subject": kind, "id": sid, "from": t.old, "to": t.new, "comment_id": t.comment_id})
    finally:
        runtime.engine.dispose()
    return 0


def _comments(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        kind, sid = _subject(args)
        with session_scope(runtime.sessions) as session:
            if args.add:
                review.add_comment(session, kind, sid, args.add, author=_actor(args, runtime))
            thread = review.list_comments(session, kind, sid)
            _print([{"author": c.author, "at": c.created_at, "body": c.body} for c in thread])
    finally:
        runtime.engine.dispose()
    return 0


def _progress(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            p = review.approval_progress(session, args.video)
            _print({**asdict(p), "frames_approved": p.frames_approved, "shots_approved": p.shots_approved,
                    "fraction": round(p.fraction, 4), "summary": p.summary()})
    finally:
        runtime.engine.dispose()
    return 0


def _budget_show(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            card = cost.load_rate_card(session)
            status = cost.budget_status(session, args.file, rate_card=card)
            spent = cost.spend(session, file_id=args.file, rate_card=card)
            per_second = cost.cost_per_approved_clip_second(session, file_id=args.file, rate_card=card)
        _print({**asdict(status), "remaining_usd": status.remaining_usd, "fraction": status.fraction,
                "spend": asdict(spent), "usd_per_approved_clip_second": per_second})
    finally:
        runtime.engine.dispose()
    return 0


def _budget_set(args: argparse.Namespace) -> int:
    raw = str(args.usd).strip().lower()
    try:
        amount = None if raw in ("none", "") else float(raw)
    except ValueError:
        raise ValidationError(f"--usd must be an amount or 'none', not {args.usd!r}") from None
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            cost.set_budget(session, args.file, amount, actor=_actor(args, runtime))
        _print({"file": args.file, "budget_usd": amount})
    finally:
        runtime.engine.dispose()
    return 0


def _rates_show(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with runtime.sessions() as session:
            _print([asdict(r) for r in cost.load_rate_card(session).rates.values()])
    finally:
        runtime.engine.dispose()
    return 0


def _rates_set(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            rate = cost.set_rate(session, args.model, unit=args.unit, credits=args.credits, usd=args.usd,
                                 actor=_actor(args, runtime))
    finally:
        runtime.engine.dispose()
    _print(asdict(rate))
    return 0


def _rates_reset(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            was_set = cost.reset_rate(session, args.model, actor=_actor(args, runtime))
    finally:
        runtime.engine.dispose()
    _print({"model": args.model, "reset": True, "had_override": was_set})
    return 0
