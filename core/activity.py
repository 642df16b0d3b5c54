"""The activity log: who did what, when. Append only; written in the caller's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.authz import acting_name
from core.models import Activity


def log_activity(
    session: Session,
    action: str,
    *,
    actor: str = "",
    source_file_id: int | None = None,
    subject_type: str = "",
    subject_id: int | None = None,
    **detail: Any,
) -> Activity:
    entry = Activity(
        action=action,
        actor=acting_name(actor),  # the one rule: a signed-in person is always recorded as themselves
        source_file_id=source_file_id,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
    )
    session.add(entry)
    return entry


def recent_activity(session: Session, *, source_file_id: int | None = None, limit: int = 50) -> list[Activity]:
    stmt = select(Activity).order_by(Activity.id.desc()).limit(limit)
    if source_file_id is not None:
        stmt = stmt.where(Activity.source_file_id == source_file_id)
    return list(session.scalars(stmt))
