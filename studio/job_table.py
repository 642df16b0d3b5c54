"""The Jobs page's table: one plain row per job, with what it renders, timings, attempts, cost and error.

Read in one query of the shown columns: loading `Job` objects decoded every job's JSON columns (params, history)
and then each frame's shot one query at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from core.models import Frame, Job, Shot, Storyboard, Video
from studio.labels import render_source
from studio.widgets import chip_label


def _target(frame_position: int | None, frame_shot: int | None, shot_position: int | None) -> str:
    if frame_position is not None and frame_shot is not None:
        return f"shot {frame_shot} · frame {frame_position}"
    if shot_position is not None:
        return f"shot {shot_position}"
    return "—"


def job_rows(session: Session, statuses: Sequence[str] | None = None, *, limit: int = 500,
             video_id: int | None = None) -> list[dict[str, Any]]:
    """The newest `limit` jobs (of `statuses`, or all; of one video, or all), newest first, as table rows; each
    says which video it renders for (number and title)."""
    frame_shot = aliased(Shot)
    board_id = func.coalesce(frame_shot.storyboard_id, Shot.storyboard_id)
    stmt = (
        select(Job.id, Job.kind, Job.status, Job.error_category, Job.attempts, Job.created_at, Job.started_at,
               Job.submitted_at, Job.finished_at, Job.cost_usd, Job.provider, Job.model, Job.error,
               Frame.position, frame_shot.position, Shot.position, Video.number, Video.title)
        .outerjoin(Frame, Frame.id == Job.frame_id)
        .outerjoin(frame_shot, frame_shot.id == Frame.shot_id)
        .outerjoin(Shot, Shot.id == Job.shot_id)
        .outerjoin(Storyboard, Storyboard.id == board_id)
        .outerjoin(Video, Video.id == Storyboard.video_id)
        .order_by(Job.id.desc()).limit(limit)
    )
    if statuses:
        stmt = stmt.where(Job.status.in_(list(statuses)))
    if video_id is not None:
        stmt = stmt.where(Video.id == video_id)
    rows = []
    for (jid, kind, status, category, attempts, created, started_at, submitted_at, finished_at, cost, provider,
         model, error, frame_pos, frame_shot_pos, shot_pos, video_number, video_title) in session.execute(stmt):
        started = started_at or submitted_at
        finished = finished_at
        seconds = (finished - started).total_seconds() if started and finished else None
        rows.append({
            "Job": jid, "Kind": kind,
            "Video": f"{video_number}. {video_title}" if video_number is not None else "—",
            "For": _target(frame_pos, frame_shot_pos, shot_pos),
            "Status": "at the provider" if status == "submitted" else
            chip_label("nsfw" if category == "nsfw" else status),
            "Attempts": attempts, "Queued": created, "Started": started, "Finished": finished,
            "Seconds": round(seconds, 1) if seconds is not None else None,
            "Cost $": cost, "Provider": render_source(provider or "", model or ""),
            "Error": error or "",
        })
    return rows


# A missing value (not started, no cost yet, no video) shows as "—", never as "None" or "nan".
EMPTY = "—"


def column_config() -> dict[str, Any]:
    """The Jobs table's column formats (times of day, dollars, a wide error)."""
    return {
        "Queued": st.column_config.DatetimeColumn(format="HH:mm:ss"),
        "Started": st.column_config.DatetimeColumn(format="HH:mm:ss"),
        "Finished": st.column_config.DatetimeColumn(format="HH:mm:ss"),
        "Cost $": st.column_config.NumberColumn(format="$%.3f"),
        "Error": st.column_config.TextColumn(width="large"),
    }


def job_ids(session: Session, statuses: Sequence[str], *, limit: int = 500) -> list[int]:
    """Ids of the newest `limit` jobs in `statuses`, newest first (the retry and cancel pickers)."""
    return list(session.scalars(select(Job.id).where(Job.status.in_(list(statuses)))
                                .order_by(Job.id.desc()).limit(limit)))
