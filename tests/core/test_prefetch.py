"""Estimates drawn on every page run read a board's rows once (`core.jobs.prefetch`) — and still say exactly what
the request, reading them one by one, would queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from core.batch_check import check_video_clips, check_video_images
from core.cast import add_member
from core.continuity import set_chain_shots
from core.db import session_scope
from core.jobs import Worker, prefetch, request_image
from core.jobs.queue import quote_video_clips, quote_video_images
from core.jobs.voice import quote_voices
from core.money import Quote
from core.one_click import estimate_shot, offers
from core.runtime import Runtime
from tests.core.jobs_factory import Board, make_board
from tests.fakes.higgs_server import make_png


def _what(quote: Quote) -> tuple[list[str], int, dict[int, str], frozenset[int], float]:
    """What a producer is told: the new renders (subject, model, price), those reused or in flight, what is
    skipped and why, the total."""
    return (sorted(repr(j) for j in quote.jobs), quote.existing, dict(quote.skipped), quote.kept, quote.total_usd)


def _half_rendered(rt: Runtime) -> Board:
    """Three chained shots with a presenter: shot 1's images rendered, shot 2's first frame queued, shot 3 bare."""
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=3, frames=3)
        add_member(s, board.file_id, "Layla", kind="presenter", images=[make_png("layla", (200, 200))],
                   assets=rt.assets)
        set_chain_shots(s, board.file_id, True)
    with session_scope(rt.sessions) as s:
        for frame_id in board.frames[0]:
            request_image(s, frame_id, settings=rt.settings)
    Worker(rt, concurrency=2, idle_s=0.05).run(drain=True)
    with session_scope(rt.sessions) as s:
        request_image(s, board.frames[1][0], settings=rt.settings)  # in flight: reused, not paid again
    return board


@contextmanager
def _read_one_by_one(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as m:
        m.setattr(prefetch, "warm", lambda *a, **k: None)
        yield


def test_estimates_read_once_say_what_the_one_by_one_request_says(runtime: Runtime,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rt = runtime
    board = _half_rendered(rt)
    quotes: dict[str, Callable[[Any], Quote]] = {
        "images": lambda s: quote_video_images(s, board.video_id, settings=rt.settings),
        "clips": lambda s: quote_video_clips(s, board.video_id, settings=rt.settings),
        "voices": lambda s: quote_voices(s, video_id=board.video_id, settings=rt.settings),
    }
    with rt.sessions() as s:
        warm = {name: _what(q(s)) for name, q in quotes.items()}
        per_shot = offers(s, board.video_id, board.shot_ids, settings=rt.settings)
    with rt.sessions() as s:  # the Storyboard's way: one read of the board for a few shots' prices and Voice all
        shared: dict = {}
        offers(s, board.video_id, board.shot_ids[1:], settings=rt.settings, lookups=shared)
        warm["shared voices"] = _what(quote_voices(s, video_id=board.video_id, settings=rt.settings,
                                                   lookups=shared))
    with _read_one_by_one(monkeypatch), rt.sessions() as s:
        cold = {name: _what(q(s)) for name, q in quotes.items()}
        alone = {sid: estimate_shot(s, sid, settings=rt.settings) for sid in board.shot_ids}
    assert warm.pop("shared voices") == cold["voices"]
    assert warm == cold
    assert {sid: _what(q) for sid, q in per_shot.items() if isinstance(q, Quote)} == \
        {sid: _what(q) for sid, q in alone.items()}
    # and what they say is the state of the board: shot 1 has its images, shot 2 waits for one already queued,
    # shot 3 (chained) starts on shot 2's last frame, which has no image yet either
    assert [q.images for q in alone.values()] == [0, 2, 4]
    assert len(warm["images"][0]) == 5 and warm["images"][1] == 4  # 9 frames: 3 rendered, 1 in flight


def _queries(rt: Runtime, fn: Callable[[Any], object]) -> int:
    count = 0

    def seen(*_: object) -> None:
        nonlocal count
        count += 1

    event.listen(rt.engine, "before_cursor_execute", seen)
    try:
        with rt.sessions() as s:
            fn(s)
    finally:
        event.remove(rt.engine, "before_cursor_execute", seen)
    return count


def test_pricing_a_video_does_not_grow_with_its_frames(runtime: Runtime) -> None:
    """The pre-checks of Render all and the one-click prices run on every page run: a long video must not turn
    them into hundreds of queries."""
    rt = runtime
    with session_scope(rt.sessions) as s:
        small, large = make_board(s, shots=2, frames=3), make_board(s, shots=8, frames=3)

    def page(board: Board) -> Callable[[Any], object]:
        return lambda s: (check_video_images(s, board.video_id, settings=rt.settings),
                          check_video_clips(s, board.video_id, settings=rt.settings),
                          offers(s, board.video_id, board.shot_ids, settings=rt.settings))

    _queries(rt, page(small))  # first use: compiled statements, lazy imports
    few, many = _queries(rt, page(small)), _queries(rt, page(large))
    assert many <= few + 8 * 3, (few, many)  # a few per shot at most for the one-click gates, never per frame
