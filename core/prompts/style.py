"""The style bible: one per source file (course), applied to every frame's prompt of every video.

A file without a stored bible reads as `DEFAULT_STYLE`; `get_style_bible` stores that default on first use.
Both give the same prompt inputs, so creating the row never makes existing prompts stale. Editing the bible
changes the style hash of every frame of the course, so their prompts become stale (that is the point).
"""

from __future__ import annotations

from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.authz import require
from core.errors import NotFoundError, ValidationError
from core.models import SourceFile, StyleBible
from core.prompts.types import StyleBibleData

STYLE_FIELDS = tuple(StyleBibleData.model_fields)
MAX_FIELD_CHARS = 2000

DEFAULT_STYLE = StyleBibleData(
    visual_style="cinematic photorealistic educational film still, natural colours, shallow depth of field",
    palette="warm neutrals with muted teal accents",
    characters="",
    setting="",
    aspect_ratio="16:9",
    negative_prompt="blurry, distorted hands, extra fingers, low resolution",
)


def style_data(row: StyleBible | None) -> StyleBibleData:
    """The bible's values as sent to a refiner (the default when the file has no row yet)."""
    if row is None:
        return DEFAULT_STYLE
    return StyleBibleData(**{name: getattr(row, name) or "" for name in STYLE_FIELDS if name != "aspect_ratio"},
                          aspect_ratio=row.aspect_ratio or DEFAULT_STYLE.aspect_ratio)


def find_style_bible(session: Session, file_id: int) -> StyleBible | None:
    """The stored row, without creating one (read paths, e.g. building a refine request)."""
    return session.scalar(select(StyleBible).where(StyleBible.source_file_id == file_id))


def get_style_bible(session: Session, file_id: int) -> StyleBible:
    """The file's bible, created with the defaults if it does not exist yet."""
    row = find_style_bible(session, file_id)
    if row is not None:
        return row
    if session.get(SourceFile, file_id) is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    row = StyleBible(source_file_id=file_id, **DEFAULT_STYLE.model_dump())
    session.add(row)
    session.flush()
    return row


def update_style_bible(session: Session, file_id: int, *, actor: str = "", **fields: Any) -> StyleBible:
    """Change some fields of the file's bible; unknown fields or bad values raise `ValidationError`."""
    require("edit")
    unknown = sorted(set(fields) - set(STYLE_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown style bible field(s): {', '.join(unknown)}; "
                              f"editable fields are {', '.join(STYLE_FIELDS)}")
    for name, value in fields.items():
        if not isinstance(value, str):
            raise ValidationError(f"Style bible field {name!r} must be text")
        if len(value) > MAX_FIELD_CHARS:
            raise ValidationError(f"Style bible field {name!r} is longer than {MAX_FIELD_CHARS} characters")
    row = get_style_bible(session, file_id)
    current = style_data(row)
    try:
        updated = StyleBibleData.model_validate({**current.model_dump(), **fields})
    except pydantic.ValidationError as err:
        raise ValidationError("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in err.errors())) from None
    changed = [name for name in STYLE_FIELDS if getattr(updated, name) != getattr(current, name)]
    if not changed:
        return row
    for name in changed:
        setattr(row, name, getattr(updated, name))
    log_activity(session, "style_bible.updated", actor=actor, source_file_id=file_id,
                 subject_type="source_file", subject_id=file_id, fields=changed)
    session.flush()
    return row
