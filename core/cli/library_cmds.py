"""`python -m core ingest|show|rebuild`: store a Word script, print a stored storyboard, cut a video again.

    ingest PATH [--shots N] [--frames M] [--pace S | --density fixed|paced]
                                           JSON: file id, created, warnings, and per video its id, number, title,
                                           shot and frame counts and the board's note. The same bytes twice give
                                           the same file id. `--pace S`: one frame per S seconds of narration.
    show --file ID                         JSON: videos → shots → frames of the current storyboards.
    rebuild --video ID [--shots N] [--frames M] [--pace S | --density fixed|paced]
                                           a new storyboard version for one video; JSON like `ingest`'s video.

All honour DATABASE_URL and STUDIO_DATA_DIR (through `open_runtime`).

`show` reports per shot its narration, directions, cast and clip staleness, per frame its text, beat and prompt /
image staleness (`core.board`); `show --text` prints the same as a readable listing.
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
            doc = storyboard_json(session, args.file)
        if args.text:
            sys.stdout.write(show_text(doc))
        else:
            _print_json(doc)
    finally:
        runtime.engine.dispose()
    return 0


def _state(value: dict[str, Any]) -> str:
    reasons = "; ".join(value.get("reasons") or [])
    return f"{value['state']} ({reasons})" if reasons else str(value["state"])


def show_text(doc: dict[str, Any]) -> str:
    """`show --text`: the JSON read as a director does — per shot what is said and what is seen, per frame its
    text and whether its prompt and image are up to date."""
    lines = [f"{doc['file']['title'] or doc['file']['original_name']} (file {doc['file']['id']})"]
    for video in doc["videos"]:
        board = video["storyboard"]
        lines.append("")
        lines.append(f"Video {video['number']}. {video['title']}"
                     + (f" · storyboard v{board['version']} ({board['density']})" if board else " · no storyboard"))
        if board and board.get("note"):
            lines.append(f"  Note: {board['note']}")
        for shot in video["shots"]:
            cast = f" · cast: {', '.join(shot['cast'])}" if shot["cast"] else ""
            lines.append(f"  Shot {shot['position']} [{shot['status']}] clip: {_state(shot['clip_staleness'])}{cast}")
            lines.append(f"    Narration: {shot['narration'] or '(none)'}")
            lines.extend(f"    Direction: {d}" for d in shot["directions"])
            for frame in shot["frames"]:
                lines.append(f"    Frame {frame['position']} [{frame['status']}] prompt: "
                             f"{_state(frame['prompt_staleness'])} · image: {_state(frame['image_staleness'])}")
                lines.append(f"      {frame['scene_text'] or '(no text)'}")
                if frame["beat"]:
                    lines.append(f"      Beat: {frame['beat']}")
    return "\n".join(lines) + "\n"


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
    p.add_argument("--text", action="store_true",
                   help="a readable listing (narration and directions per shot, text per frame) instead of JSON")
    p.set_defaults(handler=_show)

    p = subparsers.add_parser("rebuild", help="cut one video again into a new storyboard version")
    p.add_argument("--video", type=int, required=True)
    p.add_argument("--shots", type=_positive, default=None, help="shots (default: settings)")
    p.add_argument("--frames", type=_positive, default=None,
                   help="frames per shot; paced: the most a shot holds (default: settings)")
    _density_options(p)
    p.set_defaults(handler=_rebuild)
