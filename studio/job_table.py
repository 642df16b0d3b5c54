"""The Jobs page's table: one plain row per job, with what it renders, timings, attempts, cost and error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Frame, Job, Shot
from studio.widgets import chip_label


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _target_labels(session: Session, jobs: list[Job]) -> dict[int, str]:
    frame_ids = {j.frame_id for j in jobs if j.frame_id}
    shot_ids = {j.shot_id for j in jobs if j.shot_id}
    frames = {f.id: f for f in session.scalars(select(Frame).where(Frame.id.in_(frame_ids)))} if frame_ids else {}
    shots = {s.id: s for s in session.scalars(select(Shot).where(Shot.id.in_(shot_ids)))} if shot_ids else {}
    labels: dict[int, str] = {}
    for job in jobs:
        if job.frame_id and job.frame_id in frames:
            f = frames[job.frame_id]
            labels[job.id] = f"shot {f.shot.position} · frame {f.position}"
        elif job.shot_id and job.shot_id in shots:
            labels[job.id] = f"shot {shots[job.shot_id].position}"
        else:
            labels[job.id] = "—"
    return labels


def job_rows(session: Session, jobs: list[Job]) -> list[dict[str, Any]]:
    labels = _target_labels(session, jobs)
    rows = []
    for job in jobs:
        started = _aware(job.started_at or job.submitted_at)
        finished = _aware(job.finished_at)
        seconds = (finished - started).total_seconds() if started and finished else None
        status = "nsfw" if job.error_category == "nsfw" else job.status
        rows.append({
            "Job": job.id, "Kind": job.kind, "For": labels[job.id], "Status": chip_label(status),
            "Attempts": job.attempts, "Queued": _aware(job.created_at), "Started": started, "Finished": finished,
            "Seconds": round(seconds, 1) if seconds is not None else None,
            "Cost $": job.cost_usd, "Provider": f"{job.provider} {job.model}".strip(),
            "Error": job.error or "",
        })
    return rows
