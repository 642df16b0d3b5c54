"""`python -m core export KIND --file ID [--video ID] [--out PATH]` and `python -m core import-archive PATH`.

    export pdf|shotlist|animatic|captions|timeline|docx|archive --file ID [--video ID] [--out PATH]
        [--format csv|xlsx|srt|vtt|otio|edl|otioz ...] [--wpm N] [--subtitles] [--size 1280x720] [--fps 25]
        Prints the written paths, one a line. Without --out, files go under <data dir>/exports/script-<ID>/.
        A timeline is .otio (media folder beside it) and .edl by default; `--format otioz` writes it as one file
        to hand over (the .otio, the EDL and the media in an OpenTimelineIO zip bundle).
        Warnings (such as narration audio out of date in the cut) go to stderr as `warning: …` lines.
    import-archive PATH [--actor NAME]
        Recreates an archived script under new ids; prints "imported as script N" and the row counts.

Both honour DATABASE_URL and STUDIO_DATA_DIR (through `open_runtime`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from core.db import session_scope
from core.errors import NotFoundError, ValidationError
from core.exports.archive import import_archive
from core.exports.runner import EXPORT_KINDS, ExportOptions, run_export
from core.runtime import open_runtime


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("export", help="write a deliverable (PDF, shot list, animatic, captions, …)")
    p.add_argument("kind", choices=EXPORT_KINDS)
    p.add_argument("--file", type=int, help="script id")
    p.add_argument("--video", type=int, help="only this video")
    p.add_argument("--out", type=Path, help="output file (or folder for several videos)")
    p.add_argument("--format", action="append", default=[],
                   help="file format(s) for shotlist/captions/timeline (timeline: otio, edl, otioz = one-file bundle)")
    p.add_argument("--wpm", type=float, help="speaking rate in words per minute (sets each shot's length)")
    p.add_argument("--subtitles", action="store_true", help="burn subtitles into the animatic")
    p.add_argument("--size", default="1280x720", help="animatic frame size, WIDTHxHEIGHT")
    p.add_argument("--fps", type=int, default=25)
    p.set_defaults(handler=_export)

    p = subparsers.add_parser("import-archive", help="import a project archive (zip) under new ids")
    p.add_argument("path", type=Path)
    p.add_argument("--actor", default="cli")
    p.set_defaults(handler=_import)


def _export(args: argparse.Namespace) -> int:
    m = re.fullmatch(r"(\d+)x(\d+)", args.size)
    if not m:
        raise ValidationError(f"--size must look like 1280x720, not {args.size!r}")
    options = ExportOptions(formats=tuple(args.format), wpm=args.wpm, subtitles=args.subtitles,
                            width=int(m.group(1)), height=int(m.group(2)), fps=args.fps)
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            paths = run_export(session, args.kind, settings=runtime.settings, file_id=args.file,
                               video_id=args.video, out=args.out, options=options)
    finally:
        runtime.engine.dispose()
    for warning in paths.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for path in paths:
        print(path)
    return 0


def _import(args: argparse.Namespace) -> int:
    if not args.path.is_file():
        raise NotFoundError(f"There is no file at {args.path}.")
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            result = import_archive(session, args.path, data_dir=runtime.settings.data_dir, actor=args.actor,
                                    max_uncompressed_bytes=max(runtime.settings.max_uncompressed_bytes,
                                                               2 * 1024**3), store=runtime.assets)
    finally:
        runtime.engine.dispose()
    print(f"imported as script {result.source_file_id}")
    print(json.dumps({"rows": result.rows, "files": result.files}, ensure_ascii=False))
    return 0
