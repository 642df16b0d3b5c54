"""The cast and sets of a course: who and where a shot shows, and the reference images its renders send.

Rules a producer can rely on:
- a cast member (presenter, character) or set belongs to one script's style bible; names are unique per script;
- a shot shows the members chosen for it (on the board, by the CLI, or by the AI plan through `assign_cast`);
  a shot nobody chose for shows the members its script text names (whole names, any case), and the course's
  presenter (the first one defined) when it names no person; a shot can be chosen to show nobody (`show_nobody`);
- a member's references are its uploaded images and its locked pick among generated candidates;
- every reference image is uploaded to the provider once: the public URL is stored with the image and reused by
  every job, by other workers and after a restart; two worker processes needing it at once upload it once
  (`reference_url` claims the upload in the row).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.assets import AssetStore
from core.authz import require
from core.errors import NotFoundError, ValidationError
from core.models import (
    CAST_KINDS,
    Asset,
    CastImage,
    CastMember,
    Job,
    Shot,
    ShotCast,
    SourceFile,
    Storyboard,
    Video,
    utcnow,
)

# Higgs keeps uploaded files for days, not forever: re-upload a reference older than this.
UPLOAD_TTL = timedelta(days=5)
MAX_REFERENCES = 4  # sent per render; models that take several accept about this many


@dataclass(frozen=True)
class Reference:
    """One reference image a render sends, as stored in the job's parameters (and so in its input hash)."""

    image_id: int
    sha256: str
    member: str
    kind: str
    storage_key: str  # content-addressed: follows from sha256, so it adds nothing to the hash

    def as_param(self) -> dict[str, Any]:
        return {"image_id": self.image_id, "sha256": self.sha256, "member": self.member, "kind": self.kind,
                "storage_key": self.storage_key}


def _file(session: Session, file_id: int) -> SourceFile:
    src = session.get(SourceFile, file_id)
    if src is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    return src


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("Give the cast member or set a name")
    if len(cleaned) > 128:
        raise ValidationError("A cast or set name is at most 128 characters")
    return cleaned


def list_members(session: Session, file_id: int) -> list[CastMember]:
    """The script's cast and sets: presenters first, then characters, then sets, each in the order defined."""
    _file(session, file_id)
    members = session.scalars(select(CastMember).where(CastMember.source_file_id == file_id)
                              .order_by(CastMember.id)).all()
    return sorted(members, key=lambda m: CAST_KINDS.index(m.kind) if m.kind in CAST_KINDS else 9)


def get_member(session: Session, file_id: int, name: str) -> CastMember:
    wanted = _clean_name(name)
    member = session.scalar(select(CastMember).where(CastMember.source_file_id == file_id,
                                                     CastMember.name == wanted))
    if member is None:
        names = ", ".join(m.name for m in list_members(session, file_id)) or "none yet"
        raise NotFoundError(f"No cast member or set called {wanted!r} in this script (defined: {names})")
    return member


def add_member(session: Session, file_id: int, name: str, *, kind: str | None = None, description: str = "",
               images: Sequence[bytes] = (), assets: AssetStore, max_bytes: int = 20 * 1024 * 1024) -> CastMember:
    """Define a cast member or set (`kind` defaults to character), or add images to (and update the description
    of) an existing one; an existing member keeps its kind unless `kind` is given."""
    require("edit")
    if kind is not None and kind not in CAST_KINDS:
        raise ValidationError(f"Unknown kind {kind!r}: choose presenter, character or set")
    _file(session, file_id)
    cleaned = _clean_name(name)
    member = session.scalar(select(CastMember).where(CastMember.source_file_id == file_id,
                                                     CastMember.name == cleaned))
    if member is None:
        member = CastMember(source_file_id=file_id, name=cleaned, kind=kind or "character",
                            description=description.strip())
        session.add(member)
        session.flush()
    else:
        if kind is not None:
            member.kind = kind
        if description.strip():
            member.description = description.strip()
    for data in images:
        add_image(session, member, data, assets=assets, max_bytes=max_bytes)
    return member


def add_image(session: Session, member: CastMember, data: bytes, *, assets: AssetStore, origin: str = "upload",
              max_bytes: int = 20 * 1024 * 1024) -> CastImage:
    """Store a reference image (checked to be a PNG, JPEG or WebP of sane size that decodes) for a member; the
    same bytes twice are one image."""
    from core.cast_images import check_reference_image
    from core.hashing import sha256_bytes

    info = check_reference_image(data, what=f"{member.name}'s reference image", max_bytes=max_bytes)
    digest = sha256_bytes(data)
    for image in member.images:
        if image.sha256 == digest:
            return image
    key = assets.put(data, info.ext)
    image = CastImage(member_id=member.id, sha256=digest, storage_key=key,
                      content_type=info.content_type, origin=origin,
                      is_reference=origin == "upload", locked=False)
    member.images.append(image)
    session.flush()
    return image


def pick_candidate(session: Session, image_id: int) -> CastImage:
    """Lock a generated candidate as the member's reference; the other candidates stop being sent."""
    require("edit")
    image = session.get(CastImage, image_id)
    if image is None:
        raise NotFoundError(f"Reference image {image_id} does not exist")
    member = image.member
    if image.origin != "candidate":
        raise ValidationError(f"Image {image.id} of {member.name} is an uploaded photo: it is a reference already")
    if any(i.locked for i in member.images if i.id != image.id):
        raise ValidationError(f"{member.name}'s pick is locked for the course; remove it first to pick another")
    for other in member.images:
        if other.origin == "candidate":
            other.is_reference = other.id == image.id
    image.locked = True
    image.is_reference = True
    return image


def remove(session: Session, file_id: int, name: str, *, image_id: int | None = None) -> None:
    """Remove a member (and its shot assignments), or only one of its images."""
    require("edit")
    member = get_member(session, file_id, name)
    if image_id is not None:
        image = next((i for i in member.images if i.id == image_id), None)
        if image is None:
            raise NotFoundError(f"{member.name} has no image {image_id}")
        member.images.remove(image)
        session.delete(image)
        return
    session.execute(delete(ShotCast).where(ShotCast.member_id == member.id))
    session.delete(member)


def file_of_shot(session: Session, shot: Shot) -> int:
    board = session.get(Storyboard, shot.storyboard_id)
    video = session.get(Video, board.video_id) if board is not None else None
    if video is None:
        raise NotFoundError(f"Shot {shot.id} belongs to no video")
    return video.source_file_id


def assign_cast(session: Session, shot_id: int, names: Iterable[str]) -> list[CastMember]:
    """The members (by name, cast and sets alike) the shot shows, replacing the previous choice. An empty list
    clears the choice: the shot then shows the course presenter. For the board, the CLI and the AI planner."""
    require("edit")
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    file_id = file_of_shot(session, shot)
    members = []
    for name in names:
        member = get_member(session, file_id, name)
        if member not in members:
            members.append(member)
    session.execute(delete(ShotCast).where(ShotCast.shot_id == shot.id))
    for member in members:
        session.add(ShotCast(shot_id=shot.id, member_id=member.id))
    shot.shows_nobody = False
    session.flush()
    return members


def show_nobody(session: Session, shot_id: int) -> None:
    """The shot shows no cast member or set (a close-up of a book, a diagram): no default presenter, no reference
    images. `assign_cast` (any names, or none for the default) undoes it."""
    require("edit")
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    session.execute(delete(ShotCast).where(ShotCast.shot_id == shot.id))
    shot.shows_nobody = True
    session.flush()


def assigned(session: Session, shot_ids: Sequence[int]) -> dict[int, list[int]]:
    """Shot id -> chosen member ids (only shots somebody chose for)."""
    out: dict[int, list[int]] = {}
    if not shot_ids:
        return out
    for shot_id, member_id in session.execute(select(ShotCast.shot_id, ShotCast.member_id)
                                              .where(ShotCast.shot_id.in_(list(shot_ids)))
                                              .order_by(ShotCast.member_id)):
        out.setdefault(shot_id, []).append(member_id)
    return out


CastSource = Literal["chosen", "nobody", "named", "presenter", "none"]
SOURCE_LABELS: dict[str, str] = {"chosen": "chosen", "nobody": "nobody (chosen): no reference images",
                                 "named": "named in the script", "presenter": "the course presenter (default)",
                                 "none": "nobody"}


@dataclass(frozen=True)
class ShotCastChoice:
    """Who and where a shot shows, and why: chosen for it, named in its script text, or the default presenter."""

    members: tuple[CastMember, ...]
    source: CastSource


def _shot_text(shot: Shot) -> str:
    parts = [shot.summary, shot.narration or "", shot.subject, shot.action, shot.location]
    parts += [str(d.get("text", "")) if isinstance(d, dict) else str(d) for d in shot.directions or []]
    parts += [f.scene_text for f in shot.frames if f.deleted_at is None]
    return "\n".join(p for p in parts if p)


def _names_in(text: str, members: Sequence[CastMember]) -> list[CastMember]:
    """Members whose whole name appears in `text` (any case; Arabic and Latin names alike)."""
    low = text.casefold()
    return [m for m in members if re.search(rf"(?<!\w){re.escape(m.name.casefold())}(?!\w)", low)]


def cast_of_shots(session: Session, file_id: int, shots: Sequence[Shot]) -> dict[int, ShotCastChoice]:
    """For each shot of one script: the members chosen for it (board, CLI, AI plan); else the ones its script
    text names (people and sets), with the course presenter when it names no person; else the presenter alone.
    Three queries for any number of shots."""
    members = list_members(session, file_id)
    by_id = {m.id: m for m in members}
    chosen = assigned(session, [s.id for s in shots])
    presenter = next((m for m in members if m.kind == "presenter"), None)
    out: dict[int, ShotCastChoice] = {}
    for shot in shots:
        if shot.shows_nobody:
            out[shot.id] = ShotCastChoice((), "nobody")
            continue
        picked = [by_id[i] for i in chosen.get(shot.id, []) if i in by_id]
        if picked:
            out[shot.id] = ShotCastChoice(tuple(picked), "chosen")
            continue
        named = _names_in(_shot_text(shot), members) if members else []
        people = [m for m in named if m.kind != "set"]
        if not people and presenter is not None:
            people = [presenter]
        shown = people + [m for m in named if m.kind == "set"]
        source: CastSource = "named" if named else ("presenter" if presenter is not None else "none")
        out[shot.id] = ShotCastChoice(tuple(shown), source)
    return out


def shot_members(session: Session, shot: Shot) -> ShotCastChoice:
    """Who and where this shot shows, and why (see `cast_of_shots`)."""
    return cast_of_shots(session, file_of_shot(session, shot), [shot])[shot.id]


def member_references(member: CastMember) -> list[CastImage]:
    return [i for i in member.images if i.is_reference]


def shot_references(session: Session, shot: Shot) -> list[Reference]:
    """The reference images a render of this shot sends: people first, then the set; at most MAX_REFERENCES."""
    return references_of(shot_members(session, shot).members)


def references_of(members: Iterable[CastMember]) -> list[Reference]:
    """The references of these members, people before sets; at most MAX_REFERENCES."""
    ordered = sorted(members, key=lambda m: (m.kind == "set", m.id))
    per_member = [[Reference(i.id, i.sha256, m.name, m.kind, i.storage_key) for i in member_references(m)]
                  for m in ordered]
    # Each member's first image before anyone's second, so a presenter with many photos never crowds out the set.
    depth = max((len(r) for r in per_member), default=0)
    refs = [r[k] for k in range(depth) for r in per_member if k < len(r)]
    return refs[:MAX_REFERENCES]


def reference_staleness(session: Session, file_id: int, shots: Sequence[Shot]) -> dict[int, str]:
    """Frame id -> why its selected image is out of date with its shot's references (a reference image was
    changed, added or removed, or the shot now shows someone else since it was rendered). Frames whose image was
    rendered with exactly the references the shot sends now are not listed; nor are frames without an image."""
    choices = cast_of_shots(session, file_id, shots)
    frames = {f.selected_image_id: (f, shot.id) for shot in shots for f in shot.frames
              if f.deleted_at is None and f.selected_image_id is not None}
    if not frames:
        return {}
    sent = {asset_id: params for asset_id, params in session.execute(
        select(Asset.id, Job.params).join(Job, Job.id == Asset.job_id).where(Asset.id.in_(list(frames))))}
    out: dict[int, str] = {}
    for asset_id, (frame, shot_id) in frames.items():
        if asset_id not in sent:
            continue  # not rendered by a job here (imported): nothing to compare with
        now = {(r.sha256, r.member) for r in references_of(choices[shot_id].members)}
        then = {(str(r.get("sha256")), str(r.get("member"))) for r in (sent[asset_id] or {}).get("references") or []
                if isinstance(r, dict)}
        if {sha for sha, _ in now} == {sha for sha, _ in then}:
            continue
        names = sorted({name for _, name in now ^ then})
        out[frame.id] = (f"References changed since this image was rendered ({', '.join(names)}): re-render it "
                         "to use the current ones")
    return out


_upload_locks: dict[int, threading.Lock] = {}
_upload_guard = threading.Lock()


UPLOAD_CLAIM = "uploading:"  # remote_url while one process uploads the image (with uploaded_at: when it started)
CLAIM_S = 120.0  # a claim older than this is a dead uploader's: take it over


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def is_uploaded(image: CastImage) -> bool:
    """Whether the image has a provider URL (not merely an upload in progress)."""
    return bool(image.remote_url) and not str(image.remote_url).startswith(UPLOAD_CLAIM)


def reference_url(sessions: sessionmaker[Session], assets: AssetStore, image_id: int,
                  upload: Callable[[bytes, str], str], *, claim_s: float = CLAIM_S, poll_s: float = 0.2) -> str:
    """The provider URL of a reference image: the stored one while fresh, else uploaded now, once. Jobs of this
    process wait on a lock; other processes see the upload claimed in the row (a compare-and-set on `remote_url`)
    and wait for its URL, taking the claim over only when it is older than `claim_s` (its uploader died)."""
    with _upload_guard:
        lock = _upload_locks.setdefault(image_id, threading.Lock())
    with lock:
        deadline = time.monotonic() + claim_s
        while True:
            with sessions() as s:
                image = s.get(CastImage, image_id)
                if image is None:
                    raise NotFoundError(f"Reference image {image_id} was removed; render again")
                url, at = image.remote_url, _aware(image.uploaded_at)
                age = datetime.now(UTC) - at if at is not None else None
                if url and is_uploaded(image) and age is not None and age < UPLOAD_TTL:
                    return url
                busy = bool(url) and not is_uploaded(image) and age is not None and \
                    age < timedelta(seconds=claim_s) and time.monotonic() < deadline
                if not busy:
                    token = f"{UPLOAD_CLAIM}{uuid.uuid4().hex}"
                    same = CastImage.remote_url.is_(None) if url is None else CastImage.remote_url == url
                    won = s.execute(update(CastImage).where(CastImage.id == image_id, same)
                                    .values(remote_url=token, uploaded_at=utcnow()))
                    key, content_type = image.storage_key, image.content_type
                    s.commit()
                    if won.rowcount == 1:  # type: ignore[attr-defined]
                        break
            time.sleep(poll_s)
        try:
            url = upload(assets.read(key), content_type)
        except BaseException:
            with sessions() as s:  # let the next job try at once instead of waiting out the claim
                s.execute(update(CastImage).where(CastImage.id == image_id, CastImage.remote_url == token)
                          .values(remote_url=None, uploaded_at=None))
                s.commit()
            raise
        with sessions() as s:
            s.execute(update(CastImage).where(CastImage.id == image_id).values(remote_url=url, uploaded_at=utcnow()))
            s.commit()
        return url


@dataclass(frozen=True)
class CastUse:
    """Across a script's current storyboards: how many shots show each member, and the frames whose image is out
    of date with its references (frame id -> why)."""

    shots_by_member: dict[int, int]
    stale_frames: dict[int, str]


def cast_use(session: Session, file_id: int) -> CastUse:
    """Who the course's shots show, and which images their reference changes left behind."""
    from core.review import current_shots

    _file(session, file_id)
    counts: dict[int, int] = {}
    stale: dict[int, str] = {}
    for video_id in session.scalars(select(Video.id).where(Video.source_file_id == file_id)):
        shots = list(current_shots(session, video_id))
        for choice in cast_of_shots(session, file_id, shots).values():
            for member in choice.members:
                counts[member.id] = counts.get(member.id, 0) + 1
        stale.update(reference_staleness(session, file_id, shots))
    return CastUse(counts, stale)
