"""A frame's prompt versions: append only, one selected by pointer, any two comparable word by word.

Nothing here updates a version's text or deletes one; an edit is a new version (`origin="manual"`),
numbered 1, 2, 3 … per frame.

Selection rule (what a producer expects):
- a frame's first version is selected;
- a hand-edited version is selected: the producer just wrote it;
- a newly refined version is selected, except when the selected version is a hand edit: a batch never
  silently displaces a producer's own words (the new version is listed beside it, one click to pick);
  `force=True` — the producer explicitly asked to re-refine this frame — selects it anyway;
- a locked frame's selection never moves: refining it (forced) only adds a version;
- restoring an older version is `select_version`; it is logged in the activity log.
Locked frames (`review_status == "locked"`) refuse hand edits and selection changes with `GateError`.
"""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import approvals
from core.activity import log_activity
from core.authz import acting_name, require
from core.db import begin_write
from core.errors import ConflictError, GateError, NotFoundError, ValidationError
from core.models import Frame, PromptVersion
from core.prompts.context import (
    Staleness,
    build_request,
    input_snapshot,
    load_live_frame,
    manual_hash,
    prompt_staleness,
)
from core.prompts.types import RefinedPrompt

__all__ = [
    "Staleness", "add_manual_version", "add_refined_version", "diff_versions", "get_version", "list_versions",
    "prompt_staleness", "select_version", "word_diff",
]

MAX_PROMPT_CHARS = 8000
# How often a version insert that lost the race for its number (two people saving one frame's prompt at once) is
# tried again with the next number before the caller is told; each retry re-reads the newest committed number.
NUMBER_RETRIES = 5


def _source_file_id(frame: Frame) -> int:
    return frame.shot.storyboard.video.source_file_id


def _refuse_if_locked(frame: Frame, action: str) -> None:
    if frame.review_status == "locked":
        raise GateError(f"Frame {frame.id} is locked; unlock it before you {action}")


def _next_number(session: Session, frame_id: int) -> int:
    current = session.scalar(select(func.max(PromptVersion.number)).where(PromptVersion.frame_id == frame_id))
    return int(current or 0) + 1


def _insert_numbered(session: Session, version: PromptVersion) -> PromptVersion:
    """Insert `version` under the frame's next free number. Two writers can read the same "next" number; the
    unique (frame, number) constraint refuses the second insert, which is tried again (in a savepoint, so the
    caller's transaction goes on) with a fresh number. On SQLite the write lock taken first makes the race
    impossible; on PostgreSQL the retry resolves it. Still losing after `NUMBER_RETRIES` is a `ConflictError`
    (the caller keeps the text), never a raw database error."""
    begin_write(session)
    for _ in range(NUMBER_RETRIES):
        version.number = _next_number(session, version.frame_id)
        try:
            with session.begin_nested():
                session.add(version)
                session.flush()
            return version
        except IntegrityError:
            if version in session:
                session.expunge(version)
    raise ConflictError("Someone else saved a prompt for this frame at the same moment, several times over; your "
                        "text was not saved but is kept — save it again.")


def list_versions(session: Session, frame_id: int) -> list[PromptVersion]:
    """All versions of a frame, oldest first."""
    return list(session.scalars(
        select(PromptVersion).where(PromptVersion.frame_id == frame_id).order_by(PromptVersion.number)))


def get_version(session: Session, frame_id: int, number: int) -> PromptVersion:
    """Version `number` (1-based) of a frame."""
    version = session.scalar(
        select(PromptVersion).where(PromptVersion.frame_id == frame_id, PromptVersion.number == number))
    if version is None:
        raise NotFoundError(f"Frame {frame_id} has no prompt version {number}")
    return version


def add_refined_version(
    session: Session,
    frame_id: int,
    refined: RefinedPrompt,
    *,
    provider: str,
    model: str,
    template_version: str,
    input_hash: str,
    inputs: dict[str, Any],
    author: str = "",
    force: bool = False,
) -> PromptVersion:
    """Store a refiner's answer as the frame's next version and select it per the module's rule."""
    begin_write(session, immediate=True)
    frame = load_live_frame(session, frame_id)
    previous = session.get(PromptVersion, frame.selected_prompt_id) if frame.selected_prompt_id else None
    version = PromptVersion(
        frame_id=frame.id, number=0, text=refined.prompt,
        negative_prompt=refined.negative_prompt, shot_size=refined.shot_size[:64], camera=refined.camera[:256],
        lighting=refined.lighting[:256], style_notes=refined.style_notes, origin="refined", provider=provider,
        model=model, template_version=template_version, input_hash=input_hash, inputs=inputs,
        author=acting_name(author),
        based_on_id=previous.id if previous else None,
    )
    _insert_numbered(session, version)
    if previous is None:
        frame.selected_prompt_id = version.id
    elif frame.review_status != "locked" and (force or previous.origin != "manual"):
        frame.selected_prompt_id = version.id
        approvals.note_changes(session, [frame.id], actor=author, cause="prompt refined")
    return version


def add_manual_version(
    session: Session, frame_id: int, text: str, *, author: str, negative_prompt: str = ""
) -> PromptVersion:
    """A producer's hand-written prompt: a new version, selected, based on the one it replaces."""
    require("edit")
    begin_write(session, immediate=True)
    frame = load_live_frame(session, frame_id)
    _refuse_if_locked(frame, "edit its prompt")
    text = text.strip()
    if not text:
        raise ValidationError("A prompt cannot be empty")
    if len(text) > MAX_PROMPT_CHARS:
        raise ValidationError(f"A prompt is limited to {MAX_PROMPT_CHARS} characters")
    previous = session.get(PromptVersion, frame.selected_prompt_id) if frame.selected_prompt_id else None
    req = build_request(session, frame.id)
    version = PromptVersion(
        frame_id=frame.id, number=0, text=text,
        negative_prompt=negative_prompt.strip(),
        shot_size=previous.shot_size if previous else "", camera=previous.camera if previous else "",
        lighting=previous.lighting if previous else "", style_notes=previous.style_notes if previous else "",
        origin="manual", provider="manual", model="", template_version="", input_hash=manual_hash(req),
        inputs=input_snapshot(req, provider="manual", model="", template_version=""), author=acting_name(author),
        based_on_id=previous.id if previous else None,
    )
    _insert_numbered(session, version)
    frame.selected_prompt_id = version.id
    log_activity(session, "prompt.edited", actor=author, source_file_id=_source_file_id(frame),
                 subject_type="frame", subject_id=frame.id, version=version.number,
                 based_on=previous.number if previous else None)
    approvals.note_changes(session, [frame.id], actor=author, cause="prompt edited")
    session.flush()
    return version


def select_version(session: Session, frame_id: int, version_id: int, *, actor: str) -> PromptVersion:
    """Point the frame at one of its versions (restore an older one, or pick a newer refined one)."""
    require("edit")
    frame = load_live_frame(session, frame_id)
    version = session.get(PromptVersion, version_id)
    if version is None or version.frame_id != frame.id:
        raise NotFoundError(f"Prompt version {version_id} does not belong to frame {frame_id}")
    _refuse_if_locked(frame, "change its selected prompt")
    if frame.selected_prompt_id == version.id:
        return version
    previous = session.get(PromptVersion, frame.selected_prompt_id) if frame.selected_prompt_id else None
    frame.selected_prompt_id = version.id
    log_activity(session, "prompt.selected", actor=actor, source_file_id=_source_file_id(frame),
                 subject_type="frame", subject_id=frame.id, version=version.number,
                 previous=previous.number if previous else None)
    approvals.note_changes(session, [frame.id], actor=actor, cause="prompt selected")
    session.flush()
    return version


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Word-level diff of two prompts as (op, words) runs, op in equal|insert|delete, in reading order.

    Joining the `equal` and `delete` runs with spaces gives back `a`'s words; `equal` and `insert` give `b`'s.
    A replacement is reported as a delete followed by an insert, which a UI can show struck / highlighted.
    """
    old, new = a.split(), b.split()
    ops: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", " ".join(old[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            ops.append(("delete", " ".join(old[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("insert", " ".join(new[j1:j2])))
    return ops


def diff_versions(session: Session, frame_id: int, a: int, b: int) -> list[tuple[str, str]]:
    """Word diff from version number `a` to version number `b` of a frame."""
    return word_diff(get_version(session, frame_id, a).text, get_version(session, frame_id, b).text)
