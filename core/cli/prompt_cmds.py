"""`python -m core prompts …`: refine frames' prompts, list a frame's versions, diff two versions.

    prompts refine (--file ID | --video ID | --shot ID | --frame ID) [--provider offline|openai] [--force]
    prompts show --frame ID
    prompts diff --frame ID A B        (A and B are version numbers; --json for the raw ops)

`refine` prints a JSON summary (refined, reused, skipped, failed, per-frame errors) and exits 1 when any
frame failed, so scripts notice; progress lines go to stderr when it is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.db import session_scope
from core.prompts.batch import frames_in_scope, refine_frames
from core.prompts.context import load_live_frame, prompt_staleness
from core.prompts.providers import PROVIDERS, make_refiner
from core.prompts.versions import diff_versions, list_versions
from core.runtime import open_runtime


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _refine(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    settings = runtime.settings
    with session_scope(runtime.sessions) as session:
        ids = frames_in_scope(session, file_id=args.file, video_id=args.video, shot_id=args.shot,
                              frame_id=args.frame)
    refiner = make_refiner(settings, args.provider)
    show_progress = sys.stderr.isatty()

    def progress(done: int, total: int, frame_id: int, outcome: str) -> None:
        if show_progress:
            print(f"[{done}/{total}] frame {frame_id}: {outcome}", file=sys.stderr, flush=True)

    summary = refine_frames(runtime.sessions, ids, refiner, concurrency=args.concurrency or
                            settings.refine_concurrency, force=args.force, progress=progress,
                            actor=settings.author_name)
    _print_json(summary.to_json())
    runtime.engine.dispose()
    return 1 if summary.failed else 0


def _show(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    with session_scope(runtime.sessions) as session:
        frame = load_live_frame(session, args.frame)
        staleness = prompt_staleness(session, frame.id)
        versions = [
            {
                "number": v.number, "selected": v.id == frame.selected_prompt_id, "origin": v.origin,
                "provider": v.provider, "model": v.model, "template_version": v.template_version,
                "author": v.author, "created_at": v.created_at, "input_hash": v.input_hash[:12],
                "based_on": v.based_on_id, "text": v.text, "negative_prompt": v.negative_prompt,
                "shot_size": v.shot_size, "camera": v.camera, "lighting": v.lighting,
            }
            for v in list_versions(session, frame.id)
        ]
        _print_json({
            "frame_id": frame.id, "scene_text": frame.scene_text, "review_status": frame.review_status,
            "staleness": {"state": staleness.state, "changed": list(staleness.changed),
                          "message": staleness.describe()},
            "versions": versions,
        })
    runtime.engine.dispose()
    return 0


def _diff(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    with session_scope(runtime.sessions) as session:
        ops = diff_versions(session, load_live_frame(session, args.frame).id, args.a, args.b)
    runtime.engine.dispose()
    if args.json:
        _print_json([{"op": op, "text": text} for op, text in ops])
        return 0
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    print(" ".join(marks[op].format(text) for op, text in ops))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("prompts", help="image prompts: refine, show versions, diff")
    sub = parser.add_subparsers(dest="prompts_command", required=True)

    refine = sub.add_parser("refine", help="refine the prompts of a script, video, shot or frame")
    scope = refine.add_mutually_exclusive_group(required=True)
    scope.add_argument("--file", type=int, help="source file (script) id")
    scope.add_argument("--video", type=int, help="video id")
    scope.add_argument("--shot", type=int, help="shot id")
    scope.add_argument("--frame", type=int, help="frame id")
    refine.add_argument("--provider", choices=PROVIDERS, help="default: openai when a key is set, else offline")
    refine.add_argument("--force", action="store_true",
                        help="send even unchanged inputs, and include locked/approved frames")
    refine.add_argument("--concurrency", type=int, default=None, help="default: REFINE_CONCURRENCY")
    refine.set_defaults(handler=_refine)

    show = sub.add_parser("show", help="list a frame's prompt versions with provenance")
    show.add_argument("--frame", type=int, required=True)
    show.set_defaults(handler=_show)

    diff = sub.add_parser("diff", help="word diff between two prompt versions of a frame")
    diff.add_argument("--frame", type=int, required=True)
    diff.add_argument("a", type=int, help="version number")
    diff.add_argument("b", type=int, help="version number")
    diff.add_argument("--json", action="store_true", help="print the ops as JSON")
    diff.set_defaults(handler=_diff)
