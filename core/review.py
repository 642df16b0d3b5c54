"""Review gates: statuses of frames and shots, comment threads, approval progress, and the gate checks.

A frame or shot moves `draft → (in_review →) approved → locked`; a reviewer can send it to `needs_changes` (with
a comment saying what). Every transition is checked here, in core, so the CLI, the pages and the worker obey the
same rules, and every transition is written to the activity log. Approving stores what was approved
(`core.approvals`): once that changes, the frame or shot reads "changed" (Changed since approved) — not approved —
until it is approved again.

What the gates mean for the rest of the studio:
- a **locked** frame's prompt and selected image cannot change, and batches skip it (`assert_frame_editable`);
- a **locked** shot's selected clip cannot change (`assert_shot_editable`);
- a clip is rendered only from approved (or locked) frames unless the caller relaxes the rule (`clip_allowed`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import approvals
from core.activity import log_activity
from core.authz import acting_name, require
from core.errors import GateError, NotFoundError, ValidationError
from core.models import REVIEW_STATUSES, Comment, Frame, Shot, Storyboard, Video

SubjectType = Literal["frame", "shot"]
SUBJECT_TYPES: tuple[str, ...] = ("frame", "shot")
APPROVED_STATUSES = approvals.APPROVED
CHANGED = approvals.CHANGED

# Allowed moves. A reviewer may always send work back; unlocking goes through "approved" and needs a reason.
# A draft or a frame that needed changes may be approved (or sent back) in one step: "in review" is a state a
# producer may use to ask for a look, not a step every approval must pass through.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"in_review", "approved", "needs_changes"}),
    "in_review": frozenset({"approved", "needs_changes", "draft"}),
    "needs_changes": frozenset({"in_review", "draft", "approved"}),
    "approved": frozenset({"locked", "needs_changes", "in_review"}),
    "locked": frozenset({"approved"}),
    # Read, never stored: approved once, changed since. Back to review like "in review"; locking needs a fresh
    # approval of what it shows now.
    CHANGED: frozenset({"approved", "needs_changes", "in_review", "draft"}),
}
# Transitions that must carry a comment, so the thread says why.
COMMENT_REQUIRED: dict[tuple[str, str], str] = {
    ("draft", "needs_changes"): "Say what needs to change",
    ("in_review", "needs_changes"): "Say what needs to change",
    ("approved", "needs_changes"): "Say what needs to change",
    ("locked", "approved"): "Say why this is being unlocked",
    (CHANGED, "needs_changes"): "Say what needs to change",
}
STATUS_LABELS = {
    "draft": "Draft",
    "in_review": "In review",
    "needs_changes": "Needs changes",
    "approved": "Approved",
    "locked": "Locked",
    CHANGED: "Changed since approved",
}


@dataclass(frozen=True)
class Transition:
    subject_type: str
    subject_id: int
    old: str
    new: str
    comment_id: int | None


@dataclass(frozen=True)
class ApprovalProgress:
    """How far a video's current storyboard is through review (deleted frames and shots are not counted)."""

    video_id: int
    frames_total: int
    frames_by_status: dict[str, int] = field(default_factory=dict)
    shots_total: int = 0
    shots_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def frames_approved(self) -> int:
        return sum(self.frames_by_status.get(s, 0) for s in APPROVED_STATUSES)

    @property
    def shots_approved(self) -> int:
        return sum(self.shots_by_status.get(s, 0) for s in APPROVED_STATUSES)

    @property
    def fraction(self) -> float:
        """Approved (or locked) frames over all frames, 0.0 when the storyboard is empty."""
        return self.frames_approved / self.frames_total if self.frames_total else 0.0

    def summary(self) -> str:
        return (f"{self.frames_approved}/{self.frames_total} frames and {self.shots_approved}/{self.shots_total} "
                f"shots approved")


# ---- status transitions -------------------------------------------------------------------------------------

def set_status(
    session: Session,
    subject_type: str,
    subject_id: int,
    status: str,
    *,
    actor: str,
    comment: str | None = None,
) -> Transition:
    """Move a frame or shot to `status`, or raise `GateError` saying why the move is not allowed.

    The comment (required for "needs changes" and for unlocking) joins the subject's thread under `actor`.
    Setting the status it already has is a no-op apart from adding the comment.
    """
    require("review")
    subject = _load_subject(session, subject_type, subject_id)
    if status not in REVIEW_STATUSES:
        raise ValidationError(
            f"Unknown review status {status!r}; use one of: {', '.join(REVIEW_STATUSES)}")
    old = status_of(session, subject)
    text = (comment or "").strip()
    label = _subject_label(subject)
    if status != old:
        if status not in TRANSITIONS.get(old, frozenset()):
            allowed = ", ".join(STATUS_LABELS[s] for s in sorted(TRANSITIONS.get(old, ())))
            raise GateError(
                f"{label} is {STATUS_LABELS.get(old, old)}; it cannot go to {STATUS_LABELS[status]} "
                f"directly (from here: {allowed or 'nothing'})")
        need = COMMENT_REQUIRED.get((old, status))
        if need and not text:
            raise GateError(f"{need}: moving {label} to {STATUS_LABELS[status]} needs a comment")
        if isinstance(subject, Shot) and status in APPROVED_STATUSES and old not in APPROVED_STATUSES:
            _assert_frames_approved(session, subject, label)
    comment_row = add_comment(session, subject_type, subject_id, text, author=actor) if text else None
    if status != old:
        if status in APPROVED_STATUSES:
            approvals.approve(session, subject, actor=actor)  # what is approved (locked) is what it shows now
        else:
            subject.approval = None
        subject.review_status = status
        log_activity(session, "review.status", actor=actor, source_file_id=_source_file_id(session, subject),
                     subject_type=subject_type, subject_id=subject_id, old=old, new=status,
                     comment=text or None)
    session.flush()
    return Transition(subject_type, subject_id, old, status, comment_row.id if comment_row else None)


def set_status_many(
    session: Session,
    subject_type: str,
    subject_ids: Iterable[int],
    status: str,
    *,
    actor: str,
    comment: str | None = None,
) -> list[Transition]:
    """All or nothing: every subject moves, or (on the first refusal) none does and the `GateError` says which."""
    done: list[Transition] = []
    with session.begin_nested():
        for sid in subject_ids:
            done.append(set_status(session, subject_type, sid, status, actor=actor, comment=comment))
    return done


def status_of(session: Session, subject: Frame | Shot) -> str:
    """A frame's or shot's status as everyone reads it: the stored one, or "changed" for an approved one whose
    content changed since (`core.approvals`)."""
    if isinstance(subject, Frame):
        return approvals.frame_status(session, subject)
    return approvals.shot_status(session, subject)


def set_video_status(
    session: Session,
    video_id: int,
    status: str,
    *,
    actor: str,
    comment: str | None = None,
) -> list[Transition]:
    """Review a whole video at once: every live frame of its current storyboard, then every live shot, moves to
    `status` (those already there stay as they are), all or nothing — the first refusal moves none and its
    `GateError` says which frame or shot and why."""
    require("review")
    shots = current_shots(session, video_id)
    if not shots:
        raise GateError(f"Video {video_id} has no storyboard to review")
    frames = [f.id for s in shots for f in s.frames if f.deleted_at is None]
    done: list[Transition] = []
    with session.begin_nested():
        for frame_id in frames:
            done.append(set_status(session, "frame", frame_id, status, actor=actor, comment=comment))
        for shot in shots:
            done.append(set_status(session, "shot", shot.id, status, actor=actor, comment=comment))
    return [t for t in done if t.old != t.new or t.comment_id is not None]


def _assert_frames_approved(session: Session, shot: Shot, label: str) -> None:
    live = [f for f in shot.frames if f.deleted_at is None]
    statuses = approvals.frame_statuses(session, live)
    waiting = [f.position for f in live if statuses[f.id] not in APPROVED_STATUSES]
    if waiting:
        frames = ", ".join(str(p) for p in waiting)
        raise GateError(f"{label} cannot be approved while frame(s) {frames} are not approved yet")


# ---- comments -----------------------------------------------------------------------------------------------

def add_comment(session: Session, subject_type: str, subject_id: int, body: str, *, author: str) -> Comment:
    """Append a comment to a frame's or shot's thread (author: the settings' author name or the actor)."""
    require("review")
    subject = _load_subject(session, subject_type, subject_id)
    text = body.strip()
    if not text:
        raise ValidationError("A comment cannot be empty")
    row = Comment(subject_type=subject_type, subject_id=subject_id, author=acting_name(author or "producer"),
                  body=text)
    session.add(row)
    log_activity(session, "review.comment", actor=author, source_file_id=_source_file_id(session, subject),
                 subject_type=subject_type, subject_id=subject_id)
    session.flush()
    return row


def list_comments(session: Session, subject_type: str, subject_id: int) -> list[Comment]:
    """A subject's thread, oldest first."""
    stmt = (select(Comment).where(Comment.subject_type == subject_type, Comment.subject_id == subject_id)
            .order_by(Comment.created_at, Comment.id))
    return list(session.scalars(stmt))


def comments_by_subject(session: Session, subject_type: str, subject_ids: Iterable[int]) -> dict[int, list[Comment]]:
    """Threads of many subjects in one query (for exports and pages), oldest first."""
    ids = list(subject_ids)
    out: dict[int, list[Comment]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (select(Comment).where(Comment.subject_type == subject_type, Comment.subject_id.in_(ids))
            .order_by(Comment.created_at, Comment.id))
    for row in session.scalars(stmt):
        out[row.subject_id].append(row)
    return out


# ---- progress and filters -----------------------------------------------------------------------------------

def current_shots(session: Session, video_id: int) -> list[Shot]:
    """The live shots of a video's current storyboard, in order (empty when it has none), with their frames: every
    caller walks them, and loading them shot by shot was a query per shot on every page run."""
    board = session.scalar(
        select(Storyboard).where(Storyboard.video_id == video_id, Storyboard.is_current)
        .options(selectinload(Storyboard.shots).selectinload(Shot.frames)))
    if board is None:
        if session.get(Video, video_id) is None:
            raise NotFoundError(f"Video {video_id} does not exist")
        return []
    return [s for s in board.shots if s.deleted_at is None]


def progress_of(video_id: int, frame_statuses: Sequence[str], shot_statuses: Sequence[str]) -> ApprovalProgress:
    """`approval_progress` from statuses already read (the board's read model has them, as everyone reads them)."""
    return ApprovalProgress(video_id=video_id, frames_total=len(frame_statuses),
                            frames_by_status=dict(Counter(frame_statuses)), shots_total=len(shot_statuses),
                            shots_by_status=dict(Counter(shot_statuses)))


def approval_progress(session: Session, video_id: int) -> ApprovalProgress:
    shots = current_shots(session, video_id)
    frames = [f for s in shots for f in s.frames if f.deleted_at is None]
    statuses = approvals.frame_statuses(session, frames)
    return ApprovalProgress(
        video_id=video_id,
        frames_total=len(frames),
        frames_by_status=dict(Counter(statuses[f.id] for f in frames)),
        shots_total=len(shots),
        shots_by_status=dict(Counter(status_of(session, s) for s in shots)),
    )


def frames_with_status(session: Session, video_id: int, statuses: Iterable[str] | None = None) -> list[Frame]:
    """The live frames of a video's current storyboard, in order, optionally only those in `statuses`."""
    wanted = set(statuses) if statuses is not None else None
    frames = [f for s in current_shots(session, video_id) for f in s.frames if f.deleted_at is None]
    if wanted is None:
        return frames
    read = approvals.frame_statuses(session, frames)
    return [f for f in frames if read[f.id] in wanted]


# ---- gates other modules call -------------------------------------------------------------------------------

def assert_frame_editable(frame: Frame) -> None:
    """Raise `GateError` when the frame is locked: its prompt and selected image must not change."""
    if frame.review_status == "locked":
        raise GateError(
            f"Frame {frame.position} of shot {frame.shot.position if frame.shot else '?'} is locked: its prompt "
            f"and image cannot change. Unlock it on the Review page first.")


def assert_shot_editable(shot: Shot) -> None:
    """Raise `GateError` when the shot is locked: its selected clip must not change."""
    if shot.review_status == "locked":
        raise GateError(f"Shot {shot.position} is locked: its clip cannot change. Unlock it on the Review page first.")


def clip_block_reason(session: Session, shot_id: int, *, relax: bool) -> str | None:
    """Why a clip may not be rendered for this shot, or None when it may."""
    shot = session.get(Shot, shot_id)
    if shot is None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    live = [f for f in shot.frames if f.deleted_at is None]
    statuses = approvals.frame_statuses(session, live)
    frames = [(f.position, statuses[f.id]) for f in live]
    return clip_gate(shot.position, shot.review_status, frames, relax=relax)


def clip_gate(shot_position: int, shot_status: str, frames: Sequence[tuple[int, str]], *, relax: bool) -> str | None:
    """The clip gate as a rule over values: why a clip may not be rendered for a shot at `shot_position` with
    status `shot_status` and live frames `(position, status)`, or None when it may. Every reader (the queue, the
    Clips and Review pages through `core.board`) asks this one rule; `relax` is `clip_gate_relaxed(settings)`."""
    if shot_status == "locked":
        return f"Shot {shot_position} is locked; its clip cannot be re-rendered"
    if relax:
        return None
    if not frames:
        return f"Shot {shot_position} has no frames to animate"
    waiting = [str(position) for position, status in frames if status not in APPROVED_STATUSES]
    changed = [str(position) for position, status in frames if status == CHANGED]
    if changed and len(changed) == len(waiting):
        return (f"Shot {shot_position}: frame(s) {', '.join(changed)} changed since they were approved, so they are "
                f"not approved any more; approve them again to render the clip")
    if waiting:
        return (f"Shot {shot_position}: frame(s) {', '.join(waiting)} are not approved yet; clips are rendered only "
                f"from approved frames")
    return None


def clip_allowed(session: Session, shot_id: int, *, relax: bool) -> bool:
    """True when a clip may be rendered: every live frame approved or locked (or `relax`), and the shot not locked."""
    return clip_block_reason(session, shot_id, relax=relax) is None


def assert_clip_allowed(session: Session, shot_id: int, *, relax: bool) -> None:
    reason = clip_block_reason(session, shot_id, relax=relax)
    if reason:
        raise GateError(reason)


def clip_gate_relaxed(settings: object) -> bool:
    """The settings' switch for rendering clips from unapproved frames (off unless the lead adds it and sets it)."""
    return bool(getattr(settings, "allow_unapproved_clips", False))


# ---- helpers ------------------------------------------------------------------------------------------------

def _load_subject(session: Session, subject_type: str, subject_id: int) -> Frame | Shot:
    if subject_type not in SUBJECT_TYPES:
        raise ValidationError(f"Reviews apply to frames and shots, not {subject_type!r}")
    row: Frame | Shot | None = (session.get(Frame, subject_id) if subject_type == "frame"
                                else session.get(Shot, subject_id))
    if row is None:
        raise NotFoundError(f"{subject_type.capitalize()} {subject_id} does not exist")
    if row.deleted_at is not None:
        raise GateError(f"{subject_type.capitalize()} {subject_id} was deleted from the storyboard")
    return row


def _subject_label(subject: Frame | Shot) -> str:
    if isinstance(subject, Frame):
        return f"Frame {subject.position} of shot {subject.shot.position}"
    return f"Shot {subject.position}"


def _source_file_id(session: Session, subject: Frame | Shot) -> int | None:
    shot = subject.shot if isinstance(subject, Frame) else subject
    board = session.get(Storyboard, shot.storyboard_id)
    video = session.get(Video, board.video_id) if board else None
    return video.source_file_id if video else None
