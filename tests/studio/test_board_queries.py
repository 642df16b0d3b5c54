"""The studio's page queries: a board in a fixed number of queries whatever its size, the gallery's takes and
the jobs table in one each, image previews made once and small (by the worker at render time)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import event, select

from core.db import session_scope
from core.jobs import Worker, request_image
from core.models import Frame, Job, Shot, Video
from core.previews import PREVIEW_WIDTH, preview_path
from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
from core.render.offline_image import render_card
from core.runtime import Runtime
from studio.board import current_storyboard_id, load_board
from studio.job_table import job_ids, job_rows
from studio.queries import takes_by_frame
from studio.thumbnails import preview_bytes
from tests.core.docx_factory import make_docx
from tests.studio.conftest import ingest


@contextmanager
def counted(rt: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(rt.engine, "before_cursor_execute", record)


def _first_video(rt: Runtime, file_id: int) -> int:
    with rt.sessions() as s:
        return s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()


def _refined_video(rt: Runtime, *, shots: int, frames: int) -> tuple[int, list[int]]:
    """A script's first video and its frame ids, every frame with an offline-refined prompt."""
    video_id = _first_video(rt, ingest(rt, shots=shots, frames=frames))
    with rt.sessions() as s:
        frame_ids = frames_in_scope(s, video_id=video_id)
    refine_frames(rt.sessions, frame_ids, OfflineRefiner(), concurrency=1)
    return video_id, frame_ids


def test_a_board_reads_in_the_same_few_queries_whatever_its_size(runtime: Runtime) -> None:
    # Two different scripts: the same bytes uploaded twice are one script (the second upload returns the first)
    one_video = make_docx([("heading", "الفيديو الأول: مقدمة"), ("para", "مرحبا بكم في هذه الدورة القصيرة.")])
    small = _first_video(runtime, ingest(runtime, one_video, shots=1, frames=1))
    big = _first_video(runtime, ingest(runtime, shots=4, frames=3))
    counts, sizes = [], []
    for video_id in (small, big):
        with runtime.sessions() as s:
            board_id = current_storyboard_id(s, video_id)
            with counted(runtime) as statements:
                board = load_board(s, board_id, runtime.assets)
        counts.append(len(statements))
        assert len(board.frames) == sum(len(shot.frames) for shot in board.shots)
        sizes.append(len(board.frames))
    assert sizes[0] < sizes[1], sizes  # the second board really is bigger (frames per shot follow the narration)
    assert counts[0] == counts[1] <= 2, counts


def test_the_board_shows_live_frames_selected_prompt_and_image_and_the_newest_job(runtime: Runtime) -> None:
    video_id, frame_ids = _refined_video(runtime, shots=2, frames=2)
    first, second, third, fourth = frame_ids
    with session_scope(runtime.sessions) as s:
        request_image(s, first, settings=runtime.settings, provider="offline")
    Worker(runtime).run(drain=True)
    with session_scope(runtime.sessions) as s:
        failed = request_image(s, second, settings=runtime.settings, provider="offline")
        failed.status, failed.error, failed.error_category = "failed", "Blocked by moderation", "nsfw"
        s.get(Frame, third).deleted_at = datetime.now(UTC)
        s.get(Frame, fourth).deleted_at = datetime.now(UTC)  # shot 2 has no live frame left
    with runtime.sessions() as s:
        board = load_board(s, current_storyboard_id(s, video_id), runtime.assets)
    assert [sh.position for sh in board.shots] == [1, 2]
    assert [f.id for f in board.shots[0].frames] == [first, second] and board.shots[1].frames == ()
    done, blocked = board.shots[0].frames
    assert done.chip == "succeeded" and done.image_path is not None and done.image_path.is_file()
    assert done.prompt and done.label == "Shot 1 · frame 1"
    assert blocked.chip == "nsfw" and blocked.job_error == "Blocked by moderation" and blocked.image_path is None
    with runtime.sessions() as s:
        takes = takes_by_frame(s, [first, second])
    assert [t.id for t in takes[first]] == [done.image_id] and takes[second] == []


def test_jobs_table_labels_each_job_newest_first_in_one_query(runtime: Runtime) -> None:
    video_id, frame_ids = _refined_video(runtime, shots=2, frames=2)
    with session_scope(runtime.sessions) as s:
        ids = [request_image(s, fid, settings=runtime.settings, provider="offline").id for fid in frame_ids]
        s.get(Job, ids[0]).status = "failed"
        last_shot = s.get(Shot, s.get(Frame, frame_ids[-1]).shot_id).position
    with runtime.sessions() as s, counted(runtime) as statements:
        rows = job_rows(s)
        failed = job_rows(s, ["failed"])
        assert job_ids(s, ["pending"]) == ids[:0:-1]
    assert len(statements) == 3
    assert [r["Job"] for r in rows] == ids[::-1]
    assert rows[0]["For"] == f"shot {last_shot} · frame 2" and rows[-1]["For"] == "shot 1 · frame 1"
    assert [r["Job"] for r in failed] == [ids[0]] and failed[0]["Status"] == "failed"


def test_a_preview_is_a_small_jpeg_made_once_and_an_unreadable_file_has_none(tmp_path: Path) -> None:
    png = tmp_path / "render.png"
    png.write_bytes(render_card(prompt="a lighthouse at dusk", label="Shot 1 · frame 1"))
    data = preview_bytes(png)
    assert data is not None and preview_bytes(png) is data  # cached, not made again
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.width == PREVIEW_WIDTH
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert preview_bytes(broken) is None and preview_bytes(tmp_path / "missing.png") is None


def test_the_worker_stores_each_render_s_preview_and_the_studio_draws_that_one(runtime: Runtime) -> None:
    video_id, frame_ids = _refined_video(runtime, shots=1, frames=1)
    with session_scope(runtime.sessions) as s:
        request_image(s, frame_ids[0], settings=runtime.settings, provider="offline")
    Worker(runtime).run(drain=True)
    with runtime.sessions() as s:
        (frame,) = load_board(s, current_storyboard_id(s, video_id), runtime.assets).frames
    assert frame.image_path is not None
    stored = preview_path(frame.image_path)
    with Image.open(stored) as img:
        assert img.format == "JPEG" and img.width == PREVIEW_WIDTH
    stored.write_bytes(stored.read_bytes() + b"worker")  # marked: the studio must hand out this file, not remake it
    assert preview_bytes(frame.image_path) == stored.read_bytes()
