"""Render jobs: asking for images and clips (`queue`), takes (`takes`), planning and cost (`planning`), and the
worker that runs them (`worker`)."""

from core.jobs.planning import CostEstimate, estimate_jobs
from core.jobs.queue import (
    RenderBatch,
    cancel_job,
    estimate_video,
    job_summary,
    list_jobs,
    request_clip,
    request_image,
    request_video_clips,
    request_video_images,
    retry_job,
)
from core.jobs.takes import discard_take, list_takes, restore_take, select_take
from core.jobs.worker import Worker, background_worker_problem, ensure_background_worker, stop_background_workers

__all__ = [
    "CostEstimate", "RenderBatch", "Worker", "background_worker_problem", "cancel_job", "discard_take", "ensure_background_worker",
    "estimate_jobs", "estimate_video", "job_summary", "list_jobs", "list_takes", "request_clip", "request_image",
    "request_video_clips", "request_video_images", "restore_take", "retry_job", "select_take",
    "stop_background_workers",
]
