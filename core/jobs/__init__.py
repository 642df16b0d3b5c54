"""Render jobs: asking for images and clips and what they would cost (`queue`), takes (`takes`), planning
(`planning`), and the worker that runs them (`worker`)."""

from core.jobs.queue import (
    RenderBatch,
    cancel_job,
    job_summary,
    list_jobs,
    quote_clip,
    quote_explicit_clip,
    quote_image,
    quote_video_clips,
    quote_video_images,
    request_clip,
    request_explicit_clip,
    request_image,
    request_video_clips,
    request_video_images,
    retry_job,
)
from core.jobs.takes import discard_take, list_takes, restore_take, select_take
from core.jobs.worker import Worker, background_worker_problem, ensure_background_worker, stop_background_workers

__all__ = [
    "RenderBatch", "Worker", "background_worker_problem", "cancel_job", "discard_take", "ensure_background_worker",
    "job_summary", "list_jobs", "list_takes", "quote_clip", "quote_explicit_clip", "quote_image",
    "quote_video_clips", "quote_video_images", "request_clip", "request_explicit_clip", "request_image",
    "request_video_clips", "request_video_images", "restore_take", "retry_job", "select_take",
    "stop_background_workers",
]
