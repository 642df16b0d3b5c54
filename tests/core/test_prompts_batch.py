"""Batches: scope selection, bounded concurrency, progress, and per-frame errors that never stop the batch."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Iterator

import pytest

from core.db import session_scope
from core.errors import NotFoundError, ProviderError, ValidationError
from core.models import Frame, Shot, Storyboard
from core.prompts.batch import frames_in_scope, refine_frames
from core.prompts.offline import OfflineRefiner
from core.prompts.openai_refiner import OpenAIRefiner, RetryPolicy
from core.prompts.types import RefinedPrompt, RefineRequest
from core.prompts.versions import list_versions
from core.runtime import Runtime
from tests.core.prompt_fixtures import make_board
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A fresh local OpenAI-compatible server per test, stopped afterwards."""
    with FakeOpenAIServer() as server:
        yield server


class FailingFor(OfflineRefiner):
    """The offline refiner, except that chosen frames fail like a provider would."""

    def __init__(self, failing: set[int], exc: Exception | None = None) -> None:
        self.failing = failing
        self.exc = exc

    def refine(self, req: RefineRequest) -> RefinedPrompt:
        if req.frame_id in self.failing:
            raise self.exc or ProviderError(f"provider said no to frame {req.frame_id}")
        return super().refine(req)


def test_one_failing_frame_does_not_stop_the_batch(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        board = make_board(session)
    bad = board.frames[1][0]
    seen: list[tuple[int, int, int, str]] = []
    summary = refine_frames(runtime.sessions, board.frame_ids, FailingFor({bad}), concurrency=3,
                            progress=lambda *args: seen.append(args))
    assert (summary.refined, summary.failed) == (len(board.frame_ids) - 1, 1)
    assert summary.errors == {bad: f"provider said no to frame {bad}"}
    assert sorted(s[0] for s in seen) == list(range(1, len(board.frame_ids) + 1))
    assert {s[1] for s in seen} == {len(board.frame_ids)}
    assert {s[2]: s[3] for s in seen}[bad] == "failed"
    with session_scope(runtime.sessions) as session:
        assert list_versions(session, bad) == []
        assert session.get(Frame, bad).selected_prompt_id is None  # type: ignore[union-attr]
    json_summary = summary.to_json()
    assert json_summary["failed"] == 1 and json_summary["errors"] == {str(bad): summary.errors[bad]}


def test_unexpected_exception_is_a_frame_error(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        board = make_board(session)
    bad = board.frame_ids[0]
    summary = refine_frames(runtime.sessions, board.frame_ids, FailingFor({bad}, RuntimeError("boom")),
                            concurrency=2)
    assert summary.failed == 1 and "RuntimeError" in summary.errors[bad] and "boom" in summary.errors[bad]
    assert summary.refined == len(board.frame_ids) - 1


def test_openai_batch_with_a_refusal_continues(runtime: Runtime, openai_server: FakeOpenAIServer) -> None:
    with session_scope(runtime.sessions) as session:
        board = make_board(session)
    openai_server.script("ok", "refusal")
    refiner = OpenAIRefiner(api_key="sk-x", model="gpt-test", base_url=openai_server.base_url,
                            retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    summary = refine_frames(runtime.sessions, board.frame_ids, refiner, concurrency=1)
    assert summary.failed == 1 and summary.refined == len(board.frame_ids) - 1
    ((failed_frame, message),) = summary.errors.items()
    assert "refused" in message and summary.outcomes[failed_frame] == "failed"


def test_concurrency_bound_is_respected(sqlite_runtime: Runtime, openai_server: FakeOpenAIServer) -> None:
    with session_scope(sqlite_runtime.sessions) as session:
        board = make_board(session, [[f"مشهد {s}-{f}" for f in range(3)] for s in range(4)])
    openai_server.set_latency(0.05)
    refiner = OpenAIRefiner(api_key="sk-x", model="gpt-test", base_url=openai_server.base_url)
    summary = refine_frames(sqlite_runtime.sessions, board.frame_ids, refiner, concurrency=3)
    assert summary.refined == 12
    assert openai_server.max_in_flight == 3


def test_progress_runs_on_the_calling_thread(sqlite_runtime: Runtime) -> None:
    with session_scope(sqlite_runtime.sessions) as session:
        board = make_board(session)
    threads: set[str] = set()
    refine_frames(sqlite_runtime.sessions, board.frame_ids, OfflineRefiner(), concurrency=4,
                  progress=lambda *_: threads.add(threading.current_thread().name))
    assert threads == {threading.current_thread().name}


def test_frames_in_scope(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        first = make_board(session)
        second = make_board(session, [["a", "b"], ["c"]], source_file_id=first.file_id, video_position=2,
                            video_title="الدرس الثاني")
        other_file = make_board(session, [["x"]])
        # A deleted frame and a deleted shot are not refined.
        session.get(Frame, first.frames[0][1]).deleted_at = datetime.now(timezone.utc)  # type: ignore[union-attr]
        session.get(Shot, second.shot_ids[1]).deleted_at = datetime.now(timezone.utc)  # type: ignore[union-attr]
    with session_scope(runtime.sessions) as session:
        expected_first = [f for f in first.frame_ids if f != first.frames[0][1]]
        assert frames_in_scope(session, file_id=first.file_id) == expected_first + second.frames[0]
        assert frames_in_scope(session, video_id=second.video_id) == second.frames[0]
        assert frames_in_scope(session, shot_id=first.shot_ids[2]) == first.frames[2]
        assert frames_in_scope(session, frame_id=other_file.frame_ids[0]) == other_file.frame_ids
        with pytest.raises(ValidationError):
            frames_in_scope(session, file_id=first.file_id, video_id=second.video_id)
        with pytest.raises(ValidationError):
            frames_in_scope(session)
        with pytest.raises(NotFoundError):
            frames_in_scope(session, frame_id=first.frames[0][1])
        with pytest.raises(NotFoundError):
            frames_in_scope(session, video_id=999_999)
        # An old storyboard of a video is not part of the video's scope.
        session.get(Storyboard, second.storyboard_id).is_current = False  # type: ignore[union-attr]
        session.flush()
        assert frames_in_scope(session, video_id=second.video_id) == []


def test_context_uses_neighbours_across_shots(runtime: Runtime) -> None:
    from core.prompts.context import build_request

    with session_scope(runtime.sessions) as session:
        board = make_board(session)
        first_of_second_shot = build_request(session, board.frames[1][0])
        last = build_request(session, board.frames[2][2])
    assert first_of_second_shot.previous_scene_text == "يرفع طالب يده ليسأل سؤالاً"
    assert first_of_second_shot.next_scene_text == "يمشي الطلاب في ساحة المدرسة"
    assert (first_of_second_shot.shot_position, first_of_second_shot.shot_count) == (2, 3)
    assert (first_of_second_shot.frame_count, first_of_second_shot.frame_role) == (1, "single")
    assert last.next_scene_text == "" and last.frame_role == "last"
    assert first_of_second_shot.video_title == "الدرس الأول: المدينة القديمة"
    assert first_of_second_shot.course_title == "دورة التاريخ"


def test_rejected_key_stops_sending_and_fails_every_frame(sqlite_runtime: Runtime) -> None:
    with session_scope(sqlite_runtime.sessions) as session:
        board = make_board(session, [[f"مشهد {s}-{f}" for f in range(3)] for s in range(4)])
    with FakeOpenAIServer(require_key="sk-right") as server:
        refiner = OpenAIRefiner(api_key="sk-wrong-key", model="gpt-test", base_url=server.base_url,
                                retry=RetryPolicy(max_attempts=3, base_delay=0.01))
        summary = refine_frames(sqlite_runtime.sessions, board.frame_ids, refiner, concurrency=2)
        sent = len(server.requests)
    assert summary.failed == 12 and summary.refined == 0
    assert sent <= 2, "a rejected key is not retried, nor sent again for every other frame"
    assert all("API key was rejected (401)" in e for e in summary.errors.values())
    assert not any("sk-wrong-key" in e for e in summary.errors.values())


def test_sqlite_writes_from_many_threads_never_lock(sqlite_runtime: Runtime) -> None:
    with session_scope(sqlite_runtime.sessions) as session:
        boards = [make_board(session, [[f"v{v} مشهد {s}-{f}" for f in range(3)] for s in range(4)],
                             video_title=f"الدرس {v}") for v in range(4)]
    ids = [fid for board in boards for fid in board.frame_ids]
    summary = refine_frames(sqlite_runtime.sessions, ids, OfflineRefiner(), concurrency=8)
    assert (summary.refined, summary.failed) == (48, 0), summary.errors
