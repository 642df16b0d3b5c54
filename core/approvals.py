"""What was approved, and whether it still is: the one fingerprint rule of an approval.

Approving (or locking) a frame stores what the reviewer saw — its scene text, its beat, its selected prompt (text
and what to avoid) and its selected image (the bytes' SHA-256) — each part as a short hash, with who approved it
(`Frame.approval`). A shot's approval stores its live frames' texts, in order, and its selected clip
(`Shot.approval`). Whenever the current parts differ from the stored ones — an edit on the board, a scene text
brought back from Word, an archive import, a new prompt version or a newly selected take — the frame (or shot)
reads **changed since approved** (`"changed"`): not approved, so the clip gate and every other "approved only"
rule refuses it, until someone approves it again. A shot also reads changed while one of its frames does.
Restoring exactly what was approved (the previous take) makes it approved again.

A frame approved before it had an image (or a shot before it had a clip: "Approve and render clip") approved what
that render is made from: the first take to arrive joins the approval (`take_joins_approval`); any take after
it is a change.

The parts are contents, not row ids, so an archive carries its approvals to another studio intact and an
archive whose rows were edited by hand arrives "changed". An approval stored before this rule (None) stands as it
was. Every reader goes through here: the board (`core.board`, so the studio, the API and the exports), the review
gates (`core.review`), the render queue and the one-click approval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.activity import log_activity
from core.authz import acting_name
from core.hashing import stable_hash
from core.models import Asset, Frame, PromptVersion, Shot, Storyboard, Video, utcnow

APPROVED = frozenset({"approved", "locked"})
CHANGED = "changed"  # a status only ever read, never stored: approved once, changed since
PART_LABELS = {"scene_text": "scene text", "beat": "beat", "prompt": "prompt", "image": "image",
               "frames": "frames", "clip": "clip"}

Parts = dict[str, str]


def _h(*values: object) -> str:
    return stable_hash(["approval", *values])[:16]


def frame_parts(*, scene_text: str | None, beat: str | None, prompt_text: str | None,
                negative_prompt: str | None, image_sha: str | None) -> Parts:
    """What a reviewer saw of a frame, each part hashed (text compared as stored, trimmed)."""
    return {
        "scene_text": _h((scene_text or "").strip()),
        "beat": _h((beat or "").strip()),
        "prompt": _h((prompt_text or "").strip(), (negative_prompt or "").strip()),
        "image": _h(image_sha or ""),
    }


NOTHING = _h("")  # the hash of an empty part: no image or clip yet


def shot_parts(frames: Sequence[Mapping[str, str]], clip_sha: str | None) -> Parts:
    """What a reviewer saw of a shot: its live frames (their texts, in order: a frame added, removed or moved is a
    change; what each frame shows is that frame's own approval) and its selected clip."""
    return {"frames": _h([[f.get("scene_text", ""), f.get("beat", "")] for f in frames]), "clip": _h(clip_sha or "")}


def changes(approval: object, current: Mapping[str, str]) -> tuple[str, ...]:
    """The parts (in words) that differ from what was approved; () when nothing changed or nothing was stored."""
    stored = approval.get("parts") if isinstance(approval, dict) else None
    if not isinstance(stored, dict):
        return ()
    return tuple(PART_LABELS.get(k, k) for k in current if stored.get(k) != current[k])


def effective_status(stored: str | None, approval: object, current: Mapping[str, str], *,
                     frames_changed: bool = False) -> str:
    """The status everyone reads: the stored one, except "changed" for an approved (or locked) subject whose
    content is no longer what was approved (for a shot, also while one of its frames reads changed)."""
    status = stored or "draft"
    if status in APPROVED and (frames_changed or changes(approval, current)):
        return CHANGED
    return status


def stamp(current: Mapping[str, str], *, actor: str) -> dict[str, Any]:
    """The approval to store: the parts approved, by whom, when."""
    return {"parts": dict(current), "by": acting_name(actor), "at": utcnow().isoformat()}


# ---- reading the current parts from the database --------------------------------------------------------------

def frame_parts_of(session: Session, frame_ids: Iterable[int]) -> dict[int, Parts]:
    """The current parts of these frames, in one statement."""
    ids = sorted(set(frame_ids))
    if not ids:
        return {}
    session.flush()
    image = aliased(Asset)
    rows = session.execute(
        select(Frame.id, Frame.scene_text, Frame.beat, PromptVersion.text, PromptVersion.negative_prompt,
               image.sha256)
        .outerjoin(PromptVersion, PromptVersion.id == Frame.selected_prompt_id)
        .outerjoin(image, image.id == Frame.selected_image_id)
        .where(Frame.id.in_(ids)))
    return {r[0]: frame_parts(scene_text=r[1], beat=r[2], prompt_text=r[3], negative_prompt=r[4], image_sha=r[5])
            for r in rows}


def shot_parts_of(session: Session, shot_ids: Iterable[int]) -> dict[int, Parts]:
    """The current parts of these shots (their live frames' parts and their clip), in two statements."""
    ids = sorted(set(shot_ids))
    if not ids:
        return {}
    session.flush()
    frames = session.execute(select(Frame.id, Frame.shot_id).where(Frame.shot_id.in_(ids), Frame.deleted_at.is_(None))
                             .order_by(Frame.shot_id, Frame.position, Frame.id)).all()
    parts = frame_parts_of(session, [f.id for f in frames])
    by_shot: dict[int, list[Parts]] = {i: [] for i in ids}
    for f in frames:
        by_shot[f.shot_id].append(parts[f.id])
    clip = aliased(Asset)
    clips = dict(session.execute(select(Shot.id, clip.sha256).outerjoin(clip, clip.id == Shot.selected_clip_id)
                                 .where(Shot.id.in_(ids))).tuples().all())
    return {i: shot_parts(by_shot[i], clips.get(i)) for i in ids}


def frame_status(session: Session, frame: Frame) -> str:
    """A frame's status as everyone reads it ("changed" when approved content changed since)."""
    if (frame.review_status or "draft") not in APPROVED:
        return frame.review_status or "draft"
    return effective_status(frame.review_status, frame.approval, frame_parts_of(session, [frame.id])[frame.id])


def frame_statuses(session: Session, frames: Sequence[Frame]) -> dict[int, str]:
    """Many frames' statuses as everyone reads them, in one statement."""
    approved = [f.id for f in frames if f.review_status in APPROVED]
    parts = frame_parts_of(session, approved)
    return {f.id: effective_status(f.review_status, f.approval, parts[f.id]) if f.id in parts
            else (f.review_status or "draft") for f in frames}


def shot_status(session: Session, shot: Shot) -> str:
    """A shot's status as everyone reads it ("changed" when its frames or clip changed since it was approved)."""
    if (shot.review_status or "draft") not in APPROVED:
        return shot.review_status or "draft"
    frames = frame_statuses(session, [f for f in shot.frames if f.deleted_at is None])
    return effective_status(shot.review_status, shot.approval, shot_parts_of(session, [shot.id])[shot.id],
                            frames_changed=CHANGED in frames.values())


def take_joins_approval(subject: Frame | Shot, part: str, current: Mapping[str, str]) -> bool:
    """When an approved frame (shot) had no image (clip) at approval, its first take joins the approval: that is
    the render the approval asked for. True when the stored approval was updated."""
    approval = subject.approval
    if subject.review_status not in APPROVED or not isinstance(approval, dict):
        return False
    stored = approval.get("parts")
    if not isinstance(stored, dict) or stored.get(part) != NOTHING or current.get(part, NOTHING) == NOTHING:
        return False
    subject.approval = {**approval, "parts": {**stored, part: current[part]}}
    return True


def approve(session: Session, subject: Frame | Shot, *, actor: str) -> None:
    """Store what is approved now (called by `core.review.set_status` on approving or locking)."""
    current = (frame_parts_of(session, [subject.id]) if isinstance(subject, Frame)
               else shot_parts_of(session, [subject.id]))[subject.id]
    subject.approval = stamp(current, actor=actor)


# ---- telling the activity log who changed what --------------------------------------------------------------

def note_changes(session: Session, frame_ids: Iterable[int], *, actor: str, cause: str) -> list[int]:
    """After a write that may have changed approved frames: log, under the acting person, each frame (and its
    shot) that now reads "changed since approved", with what changed and how. Returns those frame ids."""
    ids = sorted(set(frame_ids))
    if not ids:
        return []
    frames = [f for f in session.scalars(select(Frame).where(Frame.id.in_(ids))) if f.review_status in APPROVED]
    parts = frame_parts_of(session, [f.id for f in frames])
    changed: list[int] = []
    shot_ids: set[int] = set()
    for frame in frames:
        what = changes(frame.approval, parts[frame.id])
        if not what:
            continue
        changed.append(frame.id)
        shot_ids.add(frame.shot_id)
        log_activity(session, "review.changed_since_approved", actor=actor, source_file_id=_file_of(session, frame),
                     subject_type="frame", subject_id=frame.id, changed=list(what), cause=cause,
                     status=frame.review_status)
    shot_of = {f.id: f.shot_id for f in frames}
    shots = [s for s in session.scalars(select(Shot).where(Shot.id.in_(shot_ids))) if s.review_status in APPROVED]
    for shot in shots:
        log_activity(session, "review.changed_since_approved", actor=actor, source_file_id=_file_of(session, shot),
                     subject_type="shot", subject_id=shot.id, cause=cause, status=shot.review_status,
                     changed=["frames"], frames=[f for f in changed if shot_of[f] == shot.id])
    return changed


def note_shot_changes(session: Session, shot_ids: Iterable[int], *, actor: str, cause: str) -> None:
    """`note_changes` for a change to shots themselves (a newly selected clip)."""
    shots = [s for s in session.scalars(select(Shot).where(Shot.id.in_(sorted(set(shot_ids)))))
             if s.review_status in APPROVED]
    now = shot_parts_of(session, [s.id for s in shots])
    for shot in shots:
        what = changes(shot.approval, now[shot.id])
        if what:
            log_activity(session, "review.changed_since_approved", actor=actor,
                         source_file_id=_file_of(session, shot), subject_type="shot", subject_id=shot.id,
                         changed=list(what), cause=cause, status=shot.review_status)


def take_arrived(session: Session, subject: Frame | Shot, *, actor: str) -> None:
    """A new take was selected on `subject` as it arrived: it joins an approval made before the subject had one
    (`take_joins_approval`), else it is a change the activity log names (under whoever asked for the render)."""
    if isinstance(subject, Frame):
        if not take_joins_approval(subject, "image", frame_parts_of(session, [subject.id])[subject.id]):
            note_changes(session, [subject.id], actor=actor, cause="new take")
    elif not take_joins_approval(subject, "clip", shot_parts_of(session, [subject.id])[subject.id]):
        note_shot_changes(session, [subject.id], actor=actor, cause="new take")


def stamp_unrecorded(session: Session, frame_ids: Iterable[int], shot_ids: Iterable[int], *, actor: str) -> None:
    """Approved rows that carry no record of what was approved (an archive from before this rule) are stamped
    with what they show now, as migration 0011 stamped this studio's own: from here on a change is seen."""
    for frame in session.scalars(select(Frame).where(Frame.id.in_(sorted(set(frame_ids))))):
        if frame.review_status in APPROVED and frame.approval is None:
            frame.approval = stamp(frame_parts_of(session, [frame.id])[frame.id], actor=actor)
    for shot in session.scalars(select(Shot).where(Shot.id.in_(sorted(set(shot_ids))))):
        if shot.review_status in APPROVED and shot.approval is None:
            shot.approval = stamp(shot_parts_of(session, [shot.id])[shot.id], actor=actor)


def _file_of(session: Session, subject: Frame | Shot) -> int | None:
    shot = session.get(Shot, subject.shot_id) if isinstance(subject, Frame) else subject
    board = session.get(Storyboard, shot.storyboard_id) if shot else None
    video = session.get(Video, board.video_id) if board else None
    return video.source_file_id if video else None
