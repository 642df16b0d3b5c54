"""`python -m core ingest|show|rebuild`: store a Word script, print a stored storyboard, cut a video again.

    ingest PATH [--shots N] [--frames M] [--pace S | --density fixed|paced]
                                           JSON: file id, created, warnings, and per video its id, number, title,
                                           shot and frame counts and the board's note. The same bytes twice give
                                           the same file id. `--pace S`: one frame per S seconds of narration.
    show --file ID                         JSON: videos → shots → frames of the current storyboards.
    rebuild --video ID [--shots N] [--frames M] [--pace S | --density fixed|paced]
                                           a new storyboard version for one video; JSON like `ingest`'s video.

All honour DATABASE_URL and STUDIO_DATA_DIR (through `open_runtime`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import session_scope
from core.errors import NotFoundError
from core.library import get_source_file, ingest_file, list_videos, storyboard_json
from core.models import Frame, Shot, Storyboard, Video
from core.runtime import open_runtime
from core.storyboard_store import board_notes, choose_density, rebuild_board

CLI_ACTOR = "cli"


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _video_counts(session: Session, file_id: int) -> dict[int, tuple[int, int]]:
    """(live shots, live frames) of each video's current storyboard, by video id, in two queries."""
    live = (Video.source_file_id == file_id, Storyboard.is_current.is_(True), Shot.deleted_at.is_(None))
    # Comprehensions, not dict(result): a Result has .keys(), so dict() would treat it as a mapping.
    shots = {vid: n for vid, n in session.execute(
        select(Storyboard.video_id, func.count(Shot.id)).select_from(Shot).join(Storyboard).join(Video)
        .where(*live).group_by(Storyboard.video_id)
    ).tuples()}
    frames = {vid: n for vid, n in session.execute(
        select(Storyboard.video_id, func.count(Frame.id)).select_from(Frame).join(Shot).join(Storyboard).join(Video)
        .where(*live, Frame.deleted_at.is_(None)).group_by(Storyboard.video_id)
    ).tuples()}
    return {vid: (shots.get(vid, 0), frames.get(vid, 0)) for vid in set(shots) | set(frames)}


def _ingest(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.is_file():
        raise NotFoundError(f"There is no file at {path}.")
    data = path.read_bytes()
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            result = ingest_file(session, data, path.name, settings=runtime.settings, shots=args.shots,
                                 frames=args.frames, density=args.density, pace_s=args.pace, actor=CLI_ACTOR)
        with session_scope(runtime.sessions) as session:
            source = get_source_file(session, result.source_file_id)
            counts = _video_counts(session, source.id)
            notes = board_notes(session, source.id)
            _print_json({
                "file_id": source.id,
                "created": result.created,
                "title": source.title,
                "warnings": result.warnings,
                "videos": [
                    {"id": v.id, "position": v.position, "number": v.number, "title": v.title,
                     "shots": counts.get(v.id, (0, 0))[0], "frames": counts.get(v.id, (0, 0))[1],
                     "note": notes.get(v.id, "")}
                    for v in list_videos(session, source.id)
                ],
            })
    finally:
        runtime.engine.dispose()
    return 0


def _show(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            _print_json(storyboard_json(session, args.file))
    finally:
        runtime.engine.dispose()
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            density = choose_density(runtime.settings, density=args.density, shots=args.shots, frames=args.frames,
                                     pace_s=args.pace)
            board = rebuild_board(session, args.video, density, actor=CLI_ACTOR)
            video = session.get(Video, args.video)
            assert video is not None  # rebuild_board raised otherwise
            counts = _video_counts(session, video.source_file_id).get(video.id, (0, 0))
            _print_json({"id": video.id, "number": video.number, "title": video.title, "storyboard_id": board.id,
                         "version": board.version, "density": board.density, "pace_s": board.pace_s,
                         "shots": counts[0], "frames": counts[1], "note": board.note})
    finally:
        runtime.engine.dispose()
    return 0


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {number}")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds per frame, got {value!r}") from None
    if not 0 < number <= 600:
        raise argparse.ArgumentTypeError(f"expected more than 0 and at most 600 seconds, got {value}")
    return number


def _density_options(p: Any) -> None:
    p.add_argument("--pace", type=_seconds, default=None, metavar="S",
                   help="paced: about one frame per S seconds of narration (default: STORYBOARD_PACE_S)")
    p.add_argument("--density", choices=("fixed", "paced"), default=None,
                   help="fixed shots × frames, or paced by the narration (default: paced when a pace is given)")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ingest", help="store a .docx script and build its storyboards; prints JSON")
    p.add_argument("path", help="the .docx file")
    p.add_argument("--shots", type=_positive, default=None, help="shots per video (default: settings)")
    p.add_argument("--frames", type=_positive, default=None,
                   help="frames per shot; paced: the most a shot holds (default: settings)")
    _density_options(p)
    p.set_defaults(handler=_ingest)

    p = subparsers.add_parser("show", help="print a stored script's current storyboards as JSON")
    p.add_argument("--file", type=int, required=True, help="the file id printed by `ingest`")
    p.set_defaults(handler=_show)

    p = subparsers.add_parser("rebuild", help="cut one video again into a new storyboard version")
    p.add_argument("--video", type=int, required=True)
    p.add_argument("--shots", type=_positive, default=None, help="shots (default: settings)")
    p.add_argument("--frames", type=_positive, default=None,
                   help="frames per shot; paced: the most a shot holds (default: settings)")
    _density_options(p)
    p.set_defaults(handler=_rebuild)
