"""Pure data of the Higgs protocol: what a submit returns, what a status says, how a wait ends.

No I/O here: `parse_status` reads a status reply in every shape the docs describe (images, video, old v1
job sets) so the client and its tests share one reading.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"
NSFW = "nsfw"
CANCELED = "canceled"
TERMINAL_STATUSES = frozenset({COMPLETED, FAILED, NSFW, CANCELED})

OutcomeKind = Literal["completed", "failed", "nsfw", "canceled", "timed_out"]


@dataclass(frozen=True)
class Submission:
    """The accepted request. Store `request_id` and `status_url` on the job at once: they resume a wait."""

    request_id: str
    status_url: str | None
    cancel_url: str | None
    status: str = QUEUED
    correlation_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteStatus:
    """One status reply. Unknown statuses are kept as given; `is_terminal` is False for them."""

    request_id: str
    status: str
    image_urls: tuple[str, ...] = ()
    video_url: str | None = None
    error: str | None = None
    expires_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def urls(self) -> tuple[str, ...]:
        """Every output URL: images first, then the video."""
        return self.image_urls + ((self.video_url,) if self.video_url else ())


@dataclass(frozen=True)
class Outcome:
    """How a wait ended. `urls` are set only for `completed`; `error` explains every other kind."""

    kind: OutcomeKind
    request_id: str
    urls: tuple[str, ...] = ()
    error: str | None = None
    polls: int = 0
    expires_at: str | None = None
    last_status: RemoteStatus | None = None


@dataclass(frozen=True)
class Estimate:
    """A price from `POST /estimate/{slug}`. Numbers are None when the API answered with a description."""

    credits: float | None
    usd: float | None
    note: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PollSchedule:
    """Delays between status polls: `initial_s`, then ×`factor` up to `max_s`, plus up to `jitter`×delay.

    Jitter is only ever added: a render usually finishes near its expected time, and a poll that comes a
    little early costs a whole extra (longer) interval.
    """

    initial_s: float = 2.0
    factor: float = 1.5
    max_s: float = 10.0
    jitter: float = 0.1

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        rand = rng or random.Random()
        delay = self.initial_s
        while True:
            yield delay + delay * self.jitter * rand.random()
            delay = min(self.max_s, delay * self.factor)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _url_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item or None
    if isinstance(item, dict):
        return _str_or_none(item.get("url"))
    return None


def _v1_urls(jobs: list[Any]) -> tuple[list[str], str | None]:
    """Old v1 job sets: outputs at `jobs[].results.raw.url`; a job's own status stands in for the request's."""
    urls: list[str] = []
    status = None
    for job in jobs:
        if not isinstance(job, dict):
            continue
        status = status or _str_or_none(job.get("status"))
        results = job.get("results")
        raw = results.get("raw") if isinstance(results, dict) else None
        url = _url_of(raw)
        if url:
            urls.append(url)
    return urls, status


def parse_status(data: dict[str, Any], *, request_id: str) -> RemoteStatus:
    """Read a status reply: `images: [{url}]`, `video: {url}`, or v1 `jobs[].results.raw.url`."""
    status = _str_or_none(data.get("status"))
    images: list[str] = []
    for item in data.get("images") or []:
        url = _url_of(item)
        if url:
            images.append(url)
    video = data.get("video")
    video_url = _url_of(video)
    jobs = data.get("jobs")
    if isinstance(jobs, list):
        v1_urls, v1_status = _v1_urls(jobs)
        status = status or v1_status
        for url in v1_urls:
            if url.lower().split("?")[0].endswith((".mp4", ".mov", ".webm")) and video_url is None:
                video_url = url
            else:
                images.append(url)
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        error = str(error.get("message", error)) if isinstance(error, dict) else str(error)
    return RemoteStatus(
        request_id=_str_or_none(data.get("request_id")) or _str_or_none(data.get("id")) or request_id,
        status=(status or "unknown").lower(),
        image_urls=tuple(images),
        video_url=video_url,
        error=error or None,
        expires_at=_str_or_none(data.get("expires_at")),
        raw=data,
    )
