"""The cast and sets of a course from the command line.

    cast add --file F --name NAME [--kind presenter|character|set] [--description TEXT] [--image PATH]…
                                        define a member (or add photos to / re-describe an existing one)
    cast list --file F                  members, their images, how many shots show each, stale frames (JSON)
    cast assign --shot S --name NAME…   the members the shot shows (repeat --name; --clear for the default,
                                        --nobody for none: no presenter, no references)
    cast remove --file F --name NAME [--image ID]
                                        remove a member (and its assignments), or only one of its images
    cast candidates --file F --name NAME [--count N] [--provider offline|higgs]
                                        queue candidate looks rendered from the description (the worker renders)
    cast pick --image ID                lock a candidate as the member's reference for the course

A photo is refused, naming the file, when it is missing, empty, over MAX_UPLOAD_MB, not a PNG / JPEG / WebP,
over 40 megapixels, tiny, or damaged. All honour DATABASE_URL and STUDIO_DATA_DIR.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core import cast
from core.cast_images import check_reference_image
from core.db import session_scope
from core.errors import ValidationError
from core.models import CAST_KINDS, CastMember
from core.runtime import open_runtime


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("cast", help="the cast and sets of a course: reference images for every render")
    sub = p.add_subparsers(dest="cast_command", required=True)
    a = sub.add_parser("add", help="define a cast member or set, or add photos to one")
    a.add_argument("--file", type=int, required=True, help="the script's id (python -m core show)")
    a.add_argument("--name", required=True)
    a.add_argument("--kind", choices=CAST_KINDS, help="presenter, character or set (new members: character)")
    a.add_argument("--description", default="")
    a.add_argument("--image", action="append", default=[], metavar="PATH", help="a reference photo (repeatable)")
    a.set_defaults(handler=_add)
    ls = sub.add_parser("list", help="the cast and sets of a script")
    ls.add_argument("--file", type=int, required=True)
    ls.set_defaults(handler=_list)
    s = sub.add_parser("assign", help="choose who and where a shot shows")
    s.add_argument("--shot", type=int, required=True)
    group = s.add_mutually_exclusive_group(required=True)
    group.add_argument("--name", action="append", metavar="NAME", help="a member or set (repeatable)")
    group.add_argument("--clear", action="store_true", help="back to the default (named in the script, else "
                                                            "the presenter)")
    group.add_argument("--nobody", action="store_true", help="the shot shows no cast member or set")
    s.set_defaults(handler=_assign)
    r = sub.add_parser("remove", help="remove a member, or one of its images")
    r.add_argument("--file", type=int, required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--image", type=int, help="only this image (its id from `cast list`)")
    r.set_defaults(handler=_remove)
    c = sub.add_parser("candidates", help="render candidate looks from the member's description")
    c.add_argument("--file", type=int, required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--count", type=int, default=3)
    c.add_argument("--provider", choices=("offline", "higgs"))
    c.set_defaults(handler=_candidates)
    k = sub.add_parser("pick", help="lock a candidate as the member's reference")
    k.add_argument("--image", type=int, required=True)
    k.set_defaults(handler=_pick)


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def read_photo(path: str) -> bytes:
    """The bytes of a photo named on the command line, or a readable refusal."""
    photo = Path(path).expanduser()
    if not photo.exists():
        raise ValidationError(f"No file at {path}: check the path of the photo")
    if not photo.is_file():
        raise ValidationError(f"{path} is a folder, not a photo")
    try:
        return photo.read_bytes()
    except OSError as err:
        raise ValidationError(f"{path} cannot be read ({err.strerror or err})") from None


def _member(member: CastMember, shots: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": member.id, "name": member.name, "kind": member.kind, "description": member.description,
        "images": [{"id": i.id, "origin": i.origin, "reference": i.is_reference, "locked": i.locked,
                    "uploaded": cast.is_uploaded(i), "sha256": i.sha256[:12]} for i in member.images],
    }
    if shots is not None:
        out["shots"] = shots
    return out


def _add(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        limit = runtime.settings.max_upload_bytes
        photos = []
        for path in args.image:  # every photo is checked (naming its file) before anything is stored
            data = read_photo(path)
            check_reference_image(data, what=Path(path).name, max_bytes=limit)
            photos.append(data)
        with session_scope(runtime.sessions) as session:
            member = cast.add_member(session, args.file, args.name, kind=args.kind, description=args.description,
                                     images=photos, assets=runtime.assets, max_bytes=limit)
            _print(_member(member))
    finally:
        runtime.engine.dispose()
    return 0


def _list(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with runtime.sessions() as session:
            members = cast.list_members(session, args.file)
            use = cast.cast_use(session, args.file)
            _print({"members": [_member(m, use.shots_by_member.get(m.id, 0)) for m in members],
                    "stale_frames": [{"frame": f, "why": why} for f, why in sorted(use.stale_frames.items())]})
    finally:
        runtime.engine.dispose()
    return 0


def _assign(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            if args.nobody:
                cast.show_nobody(session, args.shot)
            else:
                cast.assign_cast(session, args.shot, [] if args.clear else args.name)
            from core.models import Shot

            shot = session.get(Shot, args.shot)
            assert shot is not None  # assign_cast refused a missing shot
            choice = cast.shot_members(session, shot)
            _print({"shot": args.shot, "shows": [m.name for m in choice.members], "because": choice.source})
    finally:
        runtime.engine.dispose()
    return 0


def _remove(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            cast.remove(session, args.file, args.name, image_id=args.image)
        _print({"removed": args.name, "image": args.image})
    finally:
        runtime.engine.dispose()
    return 0


def _candidates(args: argparse.Namespace) -> int:
    from core.cast_candidates import request_candidates

    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            jobs = request_candidates(session, args.file, args.name, settings=runtime.settings, count=args.count,
                                      provider=args.provider, actor=runtime.settings.author_name)
            _print({"member": args.name, "jobs": [j.id for j in jobs],
                    "next": "run `python -m core worker --drain`, then `cast list` and `cast pick --image ID`"})
    finally:
        runtime.engine.dispose()
    return 0


def _pick(args: argparse.Namespace) -> int:
    runtime = open_runtime()
    try:
        with session_scope(runtime.sessions) as session:
            image = cast.pick_candidate(session, args.image)
            _print({"member": image.member.name, "image": image.id, "locked": image.locked})
    finally:
        runtime.engine.dispose()
    return 0
