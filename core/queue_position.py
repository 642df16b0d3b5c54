"""Where a page's renders stand in the whole queue: their place in line, what is at the provider, and about when
they will be done.

"12 queued" says nothing when 250 jobs of other videos are ahead. `queue_status` counts a scope's jobs (some
frames and shots, or every job) by what is happening to them, finds the first one's place among every waiting
job (workers take jobs oldest first), and estimates the time to finish everything up to the scope's last job from
the recent pace of the workers (`throughput`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from core.models import JOB_ACTIVE, Job, utcnow

PACE_WINDOW = timedelta(minutes=15)
PACE_SAMPLE = 20
PACE_GAP = timedelta(seconds=30)  # finishes further apart than this: the queue was idle in between
PACE_RUN_LIMIT = 100  # recent finishes enough for a pace; the live status asks every 2 s


@dataclass(frozen=True)
class QueueStatus:
    """A scope's active jobs: `queued` (waiting for a worker), `starting` (a worker has it, not yet sent),
    `at_provider` (sent: queued or rendering at the provider). `ahead`: waiting jobs of any video before the
    scope's first waiting one. `eta_s`: about how long until the scope's jobs are done; None without history."""

    queued: int
    starting: int
    at_provider: int
    ahead: int
    eta_s: float | None

    @property
    def active(self) -> int:
        return self.queued + self.starting + self.at_provider

    def summary(self) -> str:
        """"2 rendering at the provider · 12 queued, 250 jobs of other work ahead · about 14 min"."""
        if not self.active:
            return "Nothing rendering right now."
        parts: list[str] = []
        if self.at_provider:
            parts.append(f"{self.at_provider} rendering at the provider")
        if self.starting:
            parts.append(f"{self.starting} starting")
        if self.queued:
            line = f"{self.queued} queued"
            line += f", {self.ahead} job(s) ahead in line" if self.ahead else ", next in line"
            parts.append(line)
        eta = f"about {format_duration(self.eta_s)} to go" if self.eta_s is not None else "no time estimate yet"
        return " · ".join(parts) + f" · {eta}"


def format_duration(seconds: float | None) -> str:
    """"40 s", "3 min", "1 h 20 min"."""
    if seconds is None:
        return "unknown"
    s = max(0, round(seconds))
    if s < 60:
        return f"{max(s, 1)} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def throughput(session: Session, *, now: datetime | None = None, concurrency: int = 1) -> float | None:
    """Jobs finished per second lately: over the latest run of finishes in the last 15 minutes (finishes less than
    `PACE_GAP` apart: a pause with nothing to do is not time spent rendering), else `concurrency` over the mean
    duration of the last 20; None when nothing has ever been rendered."""
    now = now or utcnow()
    finishes: list[datetime] = [when for when in session.scalars(
        select(Job.finished_at).where(Job.status == "succeeded", Job.finished_at >= now - PACE_WINDOW)
        .order_by(Job.finished_at.desc()).limit(PACE_RUN_LIMIT)) if when is not None]
    run = finishes[:1]
    for when in finishes[1:]:
        if (run[-1] - when).total_seconds() > PACE_GAP.total_seconds():
            break
        run.append(when)
    if len(run) >= 3:
        span = (run[0] - run[-1]).total_seconds()
        if span > 0.5:
            return (len(run) - 1) / span
    rows = session.execute(
        select(Job.started_at, Job.submitted_at, Job.finished_at, Job.created_at)
        .where(Job.status == "succeeded", Job.finished_at.is_not(None))
        .order_by(Job.id.desc()).limit(PACE_SAMPLE)).all()
    durations: list[float] = []
    for start, sent, made, done in rows:
        begun = start or sent or made
        if done is not None and begun is not None and done > begun:
            durations.append((done - begun).total_seconds())
    if not durations:
        return None
    return max(concurrency, 1) / (sum(durations) / len(durations))


def queue_status(session: Session, *, frame_ids: Sequence[int] | None = None,
                 shot_ids: Sequence[int] | None = None, concurrency: int = 1,
                 now: datetime | None = None,
                 pace: Callable[[], float | None] | None = None) -> QueueStatus:
    """The active jobs of some frames and shots (or of everything, when neither is given) in the whole queue.

    `pace` gives the workers' jobs per second when the caller keeps a recent one (it is the same for every page
    that asks; `throughput` by default)."""
    now = now or utcnow()
    scope = _scope(frame_ids, shot_ids)
    if scope is None:
        return QueueStatus(0, 0, 0, 0, None)
    mine = session.execute(select(Job.id, Job.status, Job.lease_owner, Job.lease_expires_at)
                           .where(Job.status.in_(JOB_ACTIVE), scope)).all()
    if not mine:
        return QueueStatus(0, 0, 0, 0, None)
    leased = [j for j in mine if j.status == "pending" and j.lease_owner is not None
              and j.lease_expires_at is not None and j.lease_expires_at > now]
    waiting = [j for j in mine if j.status == "pending" and j not in leased]
    at_provider = sum(1 for j in mine if j.status in ("submitted", "running"))
    ahead = 0
    if waiting:
        first = min(j.id for j in waiting)
        ahead = int(session.scalar(select(func.count(Job.id)).where(Job.status == "pending", Job.id < first))
                    or 0) - sum(1 for j in mine if j.status == "pending" and j.id < first)
    last = max(j.id for j in mine)
    work = int(session.scalar(select(func.count(Job.id)).where(Job.status.in_(JOB_ACTIVE), Job.id <= last)) or 0)
    rate = pace() if pace is not None else throughput(session, now=now, concurrency=concurrency)
    eta = work / rate if rate else None
    return QueueStatus(queued=len(waiting), starting=len(leased), at_provider=at_provider, ahead=max(ahead, 0),
                       eta_s=eta)


def _scope(frame_ids: Sequence[int] | None, shot_ids: Sequence[int] | None) -> ColumnElement[bool] | None:
    """The jobs of these frames and shots; every job when neither is given; None when both are empty lists."""
    if frame_ids is None and shot_ids is None:
        return Job.id.is_not(None)
    conds: list[ColumnElement[bool]] = []
    if frame_ids:
        conds.append(Job.frame_id.in_(list(frame_ids)))
    if shot_ids:
        conds.append(Job.shot_id.in_(list(shot_ids)))
    return or_(*conds) if conds else None
