"""The cast and sets of a course: who and where a shot shows, and the reference images its renders send.

Rules a producer can rely on:
- a cast member (presenter, character) or set belongs to one script's style bible; names are unique per script;
- a shot shows the members chosen for it (on the board, by the CLI, or by the AI plan through `assign_cast`);
  a shot nobody chose for shows the course's presenter (the first one defined), when there is one;
- a member's references are its uploaded images and its locked pick among generated candidates;
- every reference image is uploaded to the provider once: the public URL is stored with the image and reused by
  every job, by other workers and after a restart (`reference_url`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from core.assets import AssetStore
from core.errors import NotFoundError, ValidationError
from core.models import CAST_KINDS, CastImage, CastMember, Shot, ShotCast, SourceFile, Storyboard, Video, utcnow

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


def add_member(session: Session, file_id: int, name: str, *, kind: str = "character", description: str = "",
               images: Sequence[bytes] = (), assets: AssetStore, max_bytes: int = 20 * 1024 * 1024) -> CastMember:
    """Define a cast member or set, or add images to (and update the description of) an existing one."""
    if kind not in CAST_KINDS:
        raise ValidationError(f"Unknown kind {kind!r}: choose presenter, character or set")
    _file(session, file_id)
    cleaned = _clean_name(name)
    member = session.scalar(select(CastMember).where(CastMember.source_file_id == file_id,
                                                     CastMember.name == cleaned))
    if member is None:
        member = CastMember(source_file_id=file_id, name=cleaned, kind=kind, description=description.strip())
        session.add(member)
        session.flush()
    else:
        member.kind = kind
        if description.strip():
            member.description = description.strip()
    for data in images:
        add_image(session, member, data, assets=assets, max_bytes=max_bytes)
    return member


def add_image(session: Session, member: CastMember, data: bytes, *, assets: AssetStore, origin: str = "upload",
              max_bytes: int = 20 * 1024 * 1024) -> CastImage:
    """Store a reference image (checked to be a PNG, JPEG or WebP that decodes) for a member; the same bytes twice
    are one image."""
    from core.hashing import sha256_bytes
    from core.render.media import MediaError, verify_image

    try:
        info = verify_image(data, max_bytes=max_bytes)
    except MediaError as err:
        raise ValidationError(f"{member.name}'s reference image cannot be used: {err}") from err
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
    image = session.get(CastImage, image_id)
    if image is None:
        raise NotFoundError(f"Reference image {image_id} does not exist")
    member = image.member
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
    session.flush()
    return members


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


def shot_members(session: Session, shot: Shot) -> tuple[list[CastMember], bool]:
    """(members the shot shows, whether that is the default presenter rather than a choice)."""
    chosen = assigned(session, [shot.id]).get(shot.id)
    file_id = file_of_shot(session, shot)
    if chosen:
        members = {m.id: m for m in session.scalars(select(CastMember).where(CastMember.id.in_(chosen)))}
        return [members[i] for i in chosen if i in members], False
    presenter = session.scalar(select(CastMember).where(CastMember.source_file_id == file_id,
                                                        CastMember.kind == "presenter").order_by(CastMember.id))
    return ([presenter] if presenter is not None else []), True


def member_references(member: CastMember) -> list[CastImage]:
    return [i for i in member.images if i.is_reference]


def shot_references(session: Session, shot: Shot) -> list[Reference]:
    """The reference images a render of this shot sends: people first, then the set; at most MAX_REFERENCES."""
    members, _ = shot_members(session, shot)
    members = sorted(members, key=lambda m: (m.kind == "set", m.id))
    refs = [Reference(i.id, i.sha256, m.name, m.kind, i.storage_key) for m in members for i in member_references(m)]
    return refs[:MAX_REFERENCES]


_upload_locks: dict[int, threading.Lock] = {}
_upload_guard = threading.Lock()


def reference_url(sessions: sessionmaker[Session], assets: AssetStore, image_id: int,
                  upload: Callable[[bytes, str], str]) -> str:
    """The provider URL of a reference image: the stored one while fresh, else uploaded now (once: concurrent
    jobs of this process wait for the first upload; other processes find the stored URL)."""
    with _upload_guard:
        lock = _upload_locks.setdefault(image_id, threading.Lock())
    with lock:
        with sessions() as s:
            image = s.get(CastImage, image_id)
            if image is None:
                raise NotFoundError(f"Reference image {image_id} was removed; render again")
            if image.remote_url and image.uploaded_at is not None:
                at = image.uploaded_at if image.uploaded_at.tzinfo else image.uploaded_at.replace(tzinfo=UTC)
                if datetime.now(UTC) - at < UPLOAD_TTL:
                    return image.remote_url
            key, content_type = image.storage_key, image.content_type
        url = upload(assets.read(key), content_type)
        with sessions() as s:
            image = s.get(CastImage, image_id)
            if image is not None:
                image.remote_url = url
                image.uploaded_at = utcnow()
                s.commit()
        return url
